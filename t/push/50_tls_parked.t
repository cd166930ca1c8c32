# Subscribers over TLS without a thread (mod_push_tls.c): under the event
# MPM an https:// event stream, a wss:// WebSocket and a waiting https://
# long poll are held by the child's stream loop, which drives mod_ssl's
# filters without blocking.  So a server holds more TLS subscribers than
# it has threads; every one of them gets every message, large ones
# whole; a WebSocket is still read (a ping is answered); a client that
# reads slowly holds no one else back and loses nothing; and a long poll's
# connection serves the next poll.
use strict;
use warnings FATAL => 'all';
use Apache::Test;
use Apache::TestUtil;
use PushTest;
use PushWS;
use IO::Select;
use IO::Socket::INET;
use Net::SSLeay;
use Socket qw(SOL_SOCKET SO_RCVBUF);
use Time::HiRes qw(time sleep);

my $mpm = Apache::Test::config()->{server}{mpm} || '';
plan tests => 29, need { 'TLS virtual host' => defined ssl_hostport(),
                         'subscribers are parked under the event MPM only' => $mpm eq 'event' };

$SIG{PIPE} = 'IGNORE';

# The most subscribers any one child saw parked at once, over a few looks
# (the status request lands on one child of four).
sub parked_max {
    my $max = 0;
    for (1 .. 8) {
        my $p = push_status()->{child_parked_streams};
        $max = $p if $p > $max;
    }
    return $max;
}

sub left { my $l = $_[0] - time; $l > 0.2 ? $l : 0.2 }

# --- More TLS streams than threads: 4 children x 128 threads, and 120
# subscribers a child may hold on threads. ---
my $n = 300;
my $ch = fresh_channel('tlspark');
my (@es, @ws);
for (1 .. $n) {
    my $c = sse_open("/sub/$ch", ssl => 1) or last;
    push @es, $c;
    my $w = ws_connect("/sub/$ch", ssl => 1) or last;
    push @ws, $w;
}
ok t_cmp(scalar(@es) + scalar(@ws), 2 * $n, 'TLS subscribers opened');
ok t_cmp([map { $_->{status} } grep { $_->{status} != 200 } @es], [],
         'https event streams: statuses other than 200');
ok t_cmp([map { $_->{status} } grep { $_->{status} != 101 } @ws], [],
         'wss WebSockets: statuses other than 101');
ok t_cmp(wait_for_value(sub { subscribers_of($ch) }, 2 * $n, 30), 2 * $n,
         'TLS subscribers counted by the channel');
my $parked = parked_max();
t_debug("parked in one child: $parked");
ok t_num($parked, '>', 0, 'TLS subscribers parked in one child');
ok t_num(push_status()->{child_subscribers}, '<', 120,
         'TLS subscribers holding a place in one child');

# --- Every one gets each message. ---
for my $round (1, 2) {
    my $id = publish($ch, "to all, round $round")->{headers}{'x-push-message-id'};
    my ($got_es, $got_ws) = (0, 0);
    my $until = time + 30;      # for them all: a failure fails fast
    for my $c (@es) {
        my $ev = sse_data($c, left($until));
        $got_es++ if $ev && $ev->{id} eq $id && $ev->{data} eq "to all, round $round";
    }
    for my $w (@ws) {
        my $f = ws_recv_data($w, left($until));
        $got_ws++ if $f && $f->{payload} eq "to all, round $round";
    }
    ok t_cmp($got_es, $n, "https event streams that got message $round");
    ok t_cmp($got_ws, $n, "wss WebSockets that got message $round");
}

# --- A WebSocket on the loop is still read: a ping is answered. ---
ws_send($ws[0], 9, 'parked tls ping');
my $f = ws_recv($ws[0], 5);
ok t_cmp($f && $f->{opcode}, 10, 'a parked wss WebSocket answers a ping');
ok t_cmp($f && $f->{payload}, 'parked tls ping', 'the pong carries the ping\'s payload');

# Hanging up frees the connections and the subscriptions.
close $_->{sock} for @es, @ws;
@es = @ws = ();
ok t_cmp(wait_for_value(sub { subscribers_of($ch) }, 0, 30), 0,
         'TLS subscribers left after their clients hung up');

# --- A message larger than mod_ssl takes at once (the core output
# filter's threshold) arrives whole, on both transports (a channel of
# its own: the suite's TLS trace dumps every byte). ---
my $bch = fresh_channel('tlsbig');
my $be = sse_open("/sub/$bch", ssl => 1);
my $bw = ws_connect("/sub/$bch", ssl => 1);
wait_for_value(sub { subscribers_of($bch) }, 2, 10);
my $big = join "\n", map { sprintf "%07d", $_ } 1 .. 40000;    # 320 KB
my $bid = publish($bch, $big, path => "/pubhuge/$bch")->{headers}{'x-push-message-id'};
my $ev = sse_data($be, 20);
ok t_cmp($ev && $ev->{id}, $bid, 'a 320 KB message on an https event stream: its id');
ok t_cmp($ev && ($ev->{data} // '') eq $big ? 'same' : 'differs', 'same',
         'a 320 KB message on an https event stream: its bytes');
$f = ws_recv_data($bw, 20);
ok t_cmp($f && ($f->{payload} eq $big ? 'same' : 'differs'), 'same',
         'a 320 KB message on a wss WebSocket: its bytes');
close $_->{sock} for $be, $bw;

# --- A slow TLS reader holds no one back and loses nothing. ---
my $sch = fresh_channel('tlsslow');
my ($host, $port) = split /:/, ssl_hostport();
my $raw = IO::Socket::INET->new(Proto => 'tcp') or die "socket: $!";
setsockopt($raw, SOL_SOCKET, SO_RCVBUF, pack('i', 4096)) or die "SO_RCVBUF: $!";
$raw->connect(Socket::pack_sockaddr_in($port, Socket::inet_aton($host)))
    or die "connect: $!";
require IO::Socket::SSL;
IO::Socket::SSL->start_SSL($raw, SSL_verify_mode => 0)
    or die "TLS handshake: " . IO::Socket::SSL::errstr();
my $slow = start_request('GET', "/sub/$sch", headers => { Accept => 'text/event-stream' },
                         conn => { sock => $raw, buf => '', ssl => 1 });
my ($st) = PushTest::read_head($slow, time + 10);
ok t_cmp($st, 200, "the slow TLS reader's event stream: status");
$slow->{chunked} = 1;
$slow->{text} = '';
my $fast = sse_open("/sub/$sch", ssl => 1);
ok t_cmp(wait_for_value(sub { subscribers_of($sch) }, 2, 10), 2,
         'slow and fast TLS readers subscribed');
my @ids;
my $piece = 'x' x 40000;
for my $i (1 .. 20) {
    push @ids, publish($sch, sprintf("%02d", $i) . $piece,
                       path => "/pubhuge/$sch")->{headers}{'x-push-message-id'};
}
my @fast = sse_upto($fast, 20, 20);
ok t_cmp(join(',', map { $_->[0] } @fast), join(',', @ids),
         'the fast TLS reader got every message while the slow one read nothing');
my @slow = sse_upto($slow, 20, 30);
ok t_cmp(join(',', map { $_->[0] } @slow), join(',', @ids),
         'the slow TLS reader got every message, in order, once it read');
ok t_cmp(scalar(grep { length($_->[1]) == 40002 } @slow), 20,
         'the slow TLS reader\'s messages are whole');
close $fast->{sock};
close $raw;

# --- A waiting https:// long poll is parked, answered, and its
# connection serves the next poll. ---
my $lch = fresh_channel('tlslp');
my @lp = map { start_request('GET', "/sub/$lch", ssl => 1) } 1 .. 150;
ok t_cmp(wait_for_value(sub { subscribers_of($lch) }, 150, 20), 150,
         'https long polls waiting');
t_debug('parked long polls in one child: ' . ($parked = parked_max()));
ok t_num($parked, '>', 0, 'https long polls parked');
my $lid = publish($lch, 'lp one')->{headers}{'x-push-message-id'};
my $until = time + 30;
my @ans = map { read_response($_, left($until)) } @lp;
ok t_cmp(scalar(grep { $_ && $_->{status} == 200 && $_->{body} eq 'lp one' } @ans), 150,
         'https long polls answered with the message');
# The next poll on each connection, from the answer's cursor.
for my $i (0 .. $#lp) {
    my $h = $ans[$i] ? $ans[$i]{headers} : {};
    start_request('GET', "/sub/$lch", conn => $lp[$i],
                  headers => { 'If-Modified-Since' => $h->{'last-modified'} // '',
                               'If-None-Match' => $h->{etag} // '' });
}
ok t_cmp(wait_for_value(sub { subscribers_of($lch) }, 150, 20), 150,
         'second https long polls waiting on the same connections');
publish($lch, 'lp two');
$until = time + 30;
@ans = map { read_response($_, left($until)) } @lp;
ok t_cmp(scalar(grep { $_ && $_->{status} == 200 && $_->{body} eq 'lp two' } @ans), 150,
         'second https long polls answered on the same connections');
close $_->{sock} for @lp;

# --- A TLS connection the server ends gets mod_ssl's close_notify
# before the socket closes, as the MPM's own close gives it: the client
# can tell the end from a cut (RFC 8446 6.1). ---

# Reads to the end of the connection; how its TLS ended.
sub tls_end {
    my ($sock, $timeout) = @_;
    my $until = time + $timeout;
    while (time < $until) {
        next unless $sock->pending || IO::Select->new($sock)->can_read(left($until));
        my $n = sysread($sock, my $buf, 65536);
        last unless $n;
    }
    return Net::SSLeay::get_shutdown($sock->_get_ssl_object) & Net::SSLeay::RECEIVED_SHUTDOWN()
           ? 'close_notify' : 'no close_notify';
}

my $cch = fresh_channel('tlsclose');
my $ce = sse_open("/sub/$cch", ssl => 1);
my $cw = ws_connect("/sub/$cch", ssl => 1);
wait_for_value(sub { subscribers_of($cch) }, 2, 10);
request('DELETE', "/pub/$cch");
ok t_cmp($ce ? tls_end($ce->{sock}, 10) : 'not opened', 'close_notify',
         'an https event stream the server ends (its channel deleted): how the connection ended');
ok t_cmp($cw ? tls_end($cw->{sock}, 10) : 'not opened', 'close_notify',
         'a wss WebSocket the server ends (its channel deleted): how the connection ended');
my $clp = start_request('GET', "/sub/$cch", ssl => 1, close => 1);
wait_for_value(sub { subscribers_of($cch) }, 1, 10);
publish($cch, 'last poll');
my $cans = read_response($clp, 10);
ok t_cmp(($cans ? "$cans->{status} $cans->{body}" : 'no answer') . ', ' . tls_end($clp->{sock}, 10),
         '200 last poll, close_notify',
         'an https long poll with Connection: close, answered by the loop: the answer, then how the connection ended');
