# A client that floods pings and never reads what it is sent (its pongs)
# is stopped by TCP, not queued for: the server's memory stays bounded,
# and subscribers of the same server get a publish at once.
use strict;
use warnings FATAL => 'all';
use Apache::Test;
use Apache::TestUtil;
use PushTest;
use PushWS;
use IO::Select;
use IO::Socket::INET;
use Socket qw(SOL_SOCKET SO_RCVBUF inet_aton sockaddr_in);
use Time::HiRes qw(time sleep);

plan tests => 5;

# A server that drops a flooding client must fail the assertions below,
# not kill the test.
$SIG{PIPE} = "IGNORE";

# A connection with a small receive buffer, set before the connect.
sub small_conn {
    my ($host, $port) = split /:/, Apache::TestRequest::hostport();
    my $sock = IO::Socket::INET->new(Proto => 'tcp') or die "socket: $!";
    setsockopt($sock, SOL_SOCKET, SO_RCVBUF, pack('i', 4096)) or die "SO_RCVBUF: $!";
    connect($sock, sockaddr_in($port, inet_aton($host))) or die "connect: $!";
    $sock->autoflush(1);
    return { sock => $sock, buf => '' };
}

# The httpd children's VmRSS, in kB.
sub children_rss {
    open my $fh, '<', Apache::Test::vars('t_pid_file') or return undef;
    my ($ppid) = (<$fh> // '') =~ /(\d+)/;
    close $fh;
    return undef unless $ppid;
    my $sum = 0;
    opendir my $d, '/proc' or return undef;
    for my $p (grep { /^\d+$/ } readdir $d) {
        open my $s, '<', "/proc/$p/status" or next;
        my %f;
        while (<$s>) { $f{$1} = $2 if /^(\w+):\s+(\d+)/ }
        close $s;
        $sum += $f{VmRSS} || 0 if ($f{PPid} || 0) == $ppid;
    }
    closedir $d;
    return $sum;
}

my $ch = fresh_channel('flood');
# Subscribers on both children (the suite starts two under event and
# worker): eight event streams.
my @es = map { sse_open("/sub/$ch") } 1 .. 8;
sse_event($_, 5) for @es;                         # the retry hint

my @floods = map { ws_connect("/sub/$ch", conn => small_conn()) } 1 .. 4;
ok t_cmp(scalar(grep { $_ && $_->{status} == 101 } @floods), 4, 'flooding WebSockets open');
my $rss0 = children_rss();

# Each sends 125-byte pings as fast as its socket takes them, for 3 s.
my $ping = ws_frame(9, 'x' x 125);
my $burst = $ping x 256;
$_->{sock}->blocking(0) for @floods;
my $sent = 0;
my $t = time;
while (time - $t < 3) {
    my $any = 0;
    for my $f (@floods) {
        my $n = syswrite($f->{sock}, $burst);
        if (defined $n && $n > 0) { $sent += $n; $any = 1 }
    }
    sleep 0.01 unless $any;
}
t_debug(sprintf "ping flood: %.1f MB sent by 4 clients in 3 s", $sent / 1048576);
ok t_num($sent / 1048576, '<', 64,
         'MB of pings the server took from 4 clients that never read');

# Meanwhile the event streams get a publish at once.
my $t0 = time;
publish($ch, 'during the flood');
my ($got, $worst) = (0, 0);
for my $e (@es) {
    my $ev = sse_event($e, 5);
    if ($ev && ($ev->{data} // '') eq 'during the flood') {
        $got++;
        $worst = time - $t0 if time - $t0 > $worst;
    }
}
ok t_cmp($got, 8, 'event streams that got the publish during the flood');
ok t_num($worst, '<', 1, 'seconds until the last of them had it');
my $rss1 = children_rss();
ok t_num(defined $rss0 && defined $rss1 ? ($rss1 - $rss0) / 1024 : undef, '<', 64,
         'growth of the httpd children\'s VmRSS during the flood (MB)');
close $_->{sock} for @floods, @es;
