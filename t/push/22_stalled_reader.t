# Pending output per connection: a subscriber whose client reads nothing
# holds one write unsent at most, and is closed after Timeout without
# progress, as httpd closes any write that makes none (on a server of its
# own with Timeout 2).  Parked (event), the close is said once at warn,
# naming Timeout, and a slow client that reads a little at a time is not
# closed; the others get every message meanwhile.
use strict;
use warnings FATAL => 'all';
use Apache::Test;
use Apache::TestUtil;
use PushTest;
use PushServer;
use IO::Select;
use IO::Socket::INET;
use Socket qw(SOL_SOCKET SO_RCVBUF inet_aton sockaddr_in);
use Time::HiRes qw(time sleep);

my $mpm = PushServer::mpm();
plan tests => ($mpm eq 'event' ? 6 : 3);

$SIG{PIPE} = 'IGNORE';

my $srv = PushServer::start(conf => "Timeout 2\nPushSharedMemorySize 16M\nPushMaxMessageSize 256K\n"
                                  . "<Location /sub>\n PushSubscriberBacklog 64M\n</Location>\n"
                                  . "<Location /pub>\n PushMessageBufferLength 200\n</Location>\n");

# An event stream on a connection with a small receive buffer.
sub stream {
    my $sock = IO::Socket::INET->new(Proto => 'tcp') or die "socket: $!";
    setsockopt($sock, SOL_SOCKET, SO_RCVBUF, pack('i', 4096)) or die "SO_RCVBUF: $!";
    connect($sock, sockaddr_in($srv->{port}, inet_aton('127.0.0.1'))) or die "connect: $!";
    $sock->autoflush(1);
    print $sock "GET /sub/stall HTTP/1.1\r\nHost: localhost\r\nAccept: text/event-stream\r\n\r\n";
    return $sock;
}

# Whether the server closed it: all that is in it read, then EOF or a
# reset within $wait seconds.
sub closed_within {
    my ($sock, $wait) = @_;
    my $sel = IO::Select->new($sock);
    my $t = time;
    while (time - $t < $wait) {
        next unless $sel->can_read(0.1);
        my $n = sysread($sock, my $buf, 65536);
        return 1 if defined $n && $n == 0;                      # EOF
        return 1 if !defined $n && !$!{EAGAIN} && !$!{EWOULDBLOCK};  # reset
    }
    return 0;
}

my $stuck = stream();
my $slow = stream();
my $good = stream();
sleep 0.5;

# 40 messages of 100 KB: far more than the small buffers take.
my $body = 'x' x (100 * 1024);
my $published = 0;
for my $k (1 .. 40) {
    my $r = $srv->ask("POST /pub/stall HTTP/1.1\r\nHost: localhost\r\nContent-Length: "
                    . length($body) . "\r\nConnection: close\r\n\r\n$body", 5);
    $published++ if $r->{status} == 201 || $r->{status} == 202;
}
ok t_cmp($published, 40, 'messages published');

# The good one reads everything; the slow one 8 KB every 0.3 s; the stuck
# one nothing, for twice Timeout and more.
my ($good_bytes, $slow_bytes) = (0, 0);
my ($gs, $ss) = (IO::Select->new($good), IO::Select->new($slow));
$good->blocking(0);
$slow->blocking(0);
my $t = time;
my $next_slow = $t;
while (time - $t < 6) {
    while ($gs->can_read(0.05)) {
        my $n = sysread($good, my $buf, 1 << 20);
        last unless $n;
        $good_bytes += $n;
    }
    if (time >= $next_slow) {
        my $n = sysread($slow, my $buf, 8192);
        $slow_bytes += $n if $n;
        $next_slow = time + 0.3;
    }
}
ok t_num($good_bytes, '>=', 40 * 100 * 1024,
         'bytes the reading client got meanwhile (every message)');
ok t_true(closed_within($stuck, 3),
          'the client that read nothing is closed after Timeout (2 s)');
if ($mpm eq 'event') {
    # Parked, the kernel's queue for it shrinking counts as progress.  (On
    # a thread, httpd's own rule applies: a write that finds no room for
    # Timeout, and a large send buffer shows room only once much of it
    # is gone.)
    my $slow_closed = closed_within($slow, 0.2);
    ok t_cmp($slow_closed, 0, 'the slow client that reads a little at a time is not closed');
    my @warn = $srv->log_lines(qr/\[push:warn\].*closed: it read nothing .* \(Timeout\)/);
    ok t_cmp(scalar @warn, 1, "the close said once at warn, naming Timeout: @warn");
    ok t_true(grep({ /channel stall/ } @warn), 'the warning names the channel');
}
$srv->stop if $srv;
