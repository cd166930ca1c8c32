# Streams without a thread (mod_push_park.c): under the event MPM an
# event stream or a WebSocket on a plain HTTP connection is parked in its
# child's stream loop, so a server holds more of them than it has
# threads, and they still get every message, pings, the deletion notice,
# and let go of their connection when the client leaves.  A subscriber that does not
# read never holds the others back, and loses nothing.
use strict;
use warnings FATAL => 'all';
use Apache::Test;
use Apache::TestUtil;
use PushTest;
use PushWS;
use Time::HiRes qw(time sleep);

my $mpm = Apache::Test::config()->{server}{mpm} || '';
plan tests => 23, need { 'streams are parked under the event MPM only' => $mpm eq 'event' };

# --- more streams than threads: 4 children x 128 threads, 120 places ---
my $n = 600;
my $ch = fresh_channel('park');
my @es;
for (1 .. $n) {
    my $c = sse_open("/sub/$ch") or last;
    push @es, $c;
}
ok @es == $n && !grep { $_->{status} != 200 } @es;
ok wait_for(sub { json(request('GET', "/pub/$ch")->{body})->{subscribers} == $n }, 20);
my $parked = 0;
for (1 .. 8) {
    my $st = push_status();
    $parked = $st->{child_parked_streams} if $st->{child_parked_streams} > $parked;
}
t_debug("parked in one child: $parked");
ok $parked > 0;
# The handler's place under PushMaxSubscribersPerChild is given back.
ok push_status()->{child_subscribers} < 120;

my $id = publish($ch, "to all $n")->{headers}{'x-push-message-id'};
my ($got, $bad) = (0, 0);
for my $c (@es) {
    sse_event($c, 5) unless $c->{retry_seen}++;     # the retry hint
    my $ev = sse_event($c, 10);
    if ($ev && $ev->{id} eq $id && $ev->{data} eq "to all $n") { $got++ }
    else { $bad++ }
}
t_debug("delivered $got, wrong or missing $bad");
ok $got == $n;

# A second message reaches them all too (the channel's next wake-up).
my $id2 = publish($ch, "second")->{headers}{'x-push-message-id'};
$got = grep { my $ev = sse_event($_, 10); $ev && $ev->{id} eq $id2 } @es;
ok $got == $n;

# Hanging up frees the connections and the store's subscriptions.
close $_->{sock} for @es;
@es = ();
ok wait_for(sub { json(request('GET', "/pub/$ch")->{body})->{subscribers} == 0 }, 15);
ok wait_for(sub { !grep { push_status()->{child_parked_streams} } 1 .. 8 }, 10);

# --- deletion: the notice, then the end of the response ---------------
$ch = fresh_channel('parkdel');
my $del = sse_open("/sub/$ch");
sse_event($del, 5);
ok wait_for(sub { json(request('GET', "/pub/$ch")->{body})->{subscribers} == 1 }, 10);
request('DELETE', "/pub/$ch");
my $ev = sse_event($del, 10);
ok $ev && ($ev->{event} || '') eq 'push-deleted' && $ev->{data} eq $ch;
ok sse_closed($del, 10) && $del->{ended};

# --- keep-alive comments at PushPingInterval (1 s here) ----------------
$ch = fresh_channel('parkping');
my $p = sse_open("/subping/$ch");
sse_event($p, 5);
my $t0 = time;
$ev = sse_event($p, 10);
ok $ev && grep { $_ eq ' ping' } @{ $ev->{comments} };
ok time - $t0 < 8;
close $p->{sock};

# --- a subscriber that stops reading holds nobody back -----------------
$ch = fresh_channel('parkslow');
my $slow = sse_open("/sub/$ch");      # never read until the end
my $fast = sse_open("/sub/$ch");
sse_event($fast, 5);
ok wait_for(sub { json(request('GET', "/pub/$ch")->{body})->{subscribers} == 2 }, 10);
my $big = 'x' x (256 * 1024);
my @ids;
for my $i (1 .. 24) {   # 6 MB: far more than the socket buffers hold
    push @ids, publish($ch, "$i:$big", path => "/pubhuge/$ch")
                   ->{headers}{'x-push-message-id'};
    my $e = sse_event($fast, 10);
    $fast->{ok}++ if $e && $e->{id} eq $ids[-1];
}
ok $fast->{ok} == 24;
# The slow one gets all of them, in order, once it reads.
my @slow_ids;
sse_event($slow, 5);
for (1 .. 24) {
    my $e = sse_event($slow, 20) or last;
    push @slow_ids, $e->{id};
}
ok "@slow_ids" eq "@ids";
close $_->{sock} for $slow, $fast;
ok wait_for(sub { json(request('GET', "/pub/$ch")->{body})->{subscribers} == 0 }, 10);

# --- WebSockets: more than threads, both ways --------------------------
$ch = fresh_channel('parkws');
my @ws;
for (1 .. $n) {
    my $c = ws_connect("/wspub/$ch") or last;
    push @ws, $c;
}
ok @ws == $n && !grep { $_->{status} != 101 } @ws;
ok wait_for(sub { json(request('GET', "/pub/$ch")->{body})->{subscribers} == $n }, 20);
$id = publish($ch, "ws to all")->{headers}{'x-push-message-id'};
$got = grep { my $f = ws_recv_data($_, 10); $f && $f->{payload} eq 'ws to all' } @ws;
t_debug("websockets delivered: $got");
ok $got == $n;
# A parked WebSocket publishes, and answers pings, from the stream loop.
ws_send($ws[0], 9, 'hello?');
my $f = ws_recv($ws[0], 5);
ok $f && $f->{opcode} == 10 && $f->{payload} eq 'hello?';
ws_send($ws[0], 1, 'from a client');
$got = grep { my $x = ws_recv_data($_, 10); $x && $x->{payload} eq 'from a client' } @ws[1 .. 20];
ok $got == 20;
close $_->{sock} for @ws;
ok wait_for(sub { json(request('GET', "/pub/$ch")->{body})->{subscribers} == 0 }, 15);
