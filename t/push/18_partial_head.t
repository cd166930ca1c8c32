# A half-sent request on a kept-alive connection (after a long poll was
# answered, under the event MPM the connection waits in the stream loop)
# costs no CPU while it waits, is served once it is whole, and ends when
# the client hangs up without finishing it.
use strict;
use warnings FATAL => 'all';
use Apache::Test;
use Apache::TestUtil;
use PushTest;
use IO::Select;
use Socket qw(SHUT_WR);
use Time::HiRes qw(time sleep);

plan tests => 6;

my $clk = 100;   # clock ticks per second (USER_HZ on Linux)

# CPU (seconds) of the httpd children so far: utime + stime from /proc.
sub children_cpu {
    open my $fh, '<', Apache::Test::vars('t_pid_file') or return undef;
    my $ppid = <$fh>;
    close $fh;
    return undef unless defined $ppid && $ppid =~ /(\d+)/;
    $ppid = $1;
    my $ticks = 0;
    opendir my $d, '/proc' or return undef;
    for my $p (grep { /^\d+$/ } readdir $d) {
        open my $s, '<', "/proc/$p/stat" or next;
        my $line = <$s>;
        close $s;
        next unless defined $line && $line =~ /^\d+ \(.*\) (.*)$/;
        my @f = split ' ', $1;     # fields from the 3rd (state) on
        next unless $f[1] == $ppid;
        $ticks += $f[11] + $f[12];
    }
    closedir $d;
    return $ticks / $clk;
}

# A keep-alive connection whose long poll was answered by a publish, so
# that it now waits for the client's next request.
sub answered_conn {
    my ($ch) = @_;
    my $c = conn();
    start_request('GET', "/sub/$ch", conn => $c, headers => { 'Last-Event-ID' => '1:0' });
    sleep 0.2;
    publish($ch, 'm');
    my $r = read_response($c, 5);
    return $r && $r->{status} == 200 ? $c : undef;
}

my $ch = fresh_channel('head');
my @conns = grep { defined } map { answered_conn($ch) } 1 .. 5;
ok t_cmp(scalar @conns, 5, 'long polls answered on kept-alive connections');

# Five connections send the start of a request, and nothing more.
print { $_->{sock} } "GET /sub/$ch HTTP/1.1\r\nHo" for @conns;
sleep 0.5;
my $cpu0 = children_cpu();
sleep 3;
my $cpu1 = children_cpu();
my $used = defined $cpu0 && defined $cpu1 ? $cpu1 - $cpu0 : undef;
ok t_num($used, '<', 0.5,
         'CPU seconds the server spent in 3 s on five half-sent requests');

# One finishes its request: it is served.
my $done = shift @conns;
print { $done->{sock} } "st: localhost\r\nLast-Event-ID: 1:0\r\n\r\n";
my $r = read_response($done, 5);
ok t_cmp($r ? $r->{status} : 'no response', 200, 'the request once whole: status');
ok t_cmp($r ? $r->{body} : 'no response', 'm', 'the request once whole: the message');

# The others hang up without finishing: the server closes its side too,
# at once, instead of keeping the connection in CLOSE-WAIT until Timeout.
sub close_wait {
    my ($port) = (split /:/, Apache::TestRequest::hostport())[1];
    my $n = 0;
    for my $f ('/proc/net/tcp', '/proc/net/tcp6') {
        open my $fh, '<', $f or next;
        while (<$fh>) {
            my @c = split;
            next unless @c > 3 && $c[1] =~ /:([0-9A-F]{4})$/;
            $n++ if hex($1) == $port && $c[3] eq '08';    # TCP_CLOSE_WAIT
        }
        close $fh;
    }
    return $n;
}
my $cw0 = close_wait();
close $_->{sock} for @conns;
my $t = time;
my $cw = wait_for_value(sub { close_wait() }, $cw0, 5);
ok t_cmp($cw, $cw0, 'server sockets in CLOSE-WAIT after the clients of half-sent requests closed');
ok t_num(time - $t, '<', 5, 'seconds until the server closed them');
