# Subscribers without a thread (mod_push_conn.c): under the event MPM an
# event stream, a WebSocket or a waiting long poll on a plain HTTP
# connection is parked in its child's stream loop, so a server holds more
# of them than it has threads, and they still get every message, pings,
# the deletion notice, and let go of their connection when the client
# leaves.  A subscriber that does not read never holds the others back,
# and loses nothing.  A long poll's connection stays alive between polls
# in the loop, which hands each request to a worker thread.
use strict;
use warnings FATAL => 'all';
use Apache::Test;
use Apache::TestUtil;
use PushTest;
use PushWS;
use Time::HiRes qw(time sleep);

my $mpm = Apache::Test::config()->{server}{mpm} || '';
plan tests => 60, need { 'streams are parked under the event MPM only' => $mpm eq 'event' };

# --- more streams than threads: 4 children x 128 threads, 120 places ---
my $n = 600;
my $ch = fresh_channel('park');
my @es;
for (1 .. $n) {
    my $c = sse_open("/sub/$ch") or last;
    push @es, $c;
}
ok t_cmp(scalar @es, $n, 'event streams opened');
ok t_cmp([map { $_->{status} } grep { $_->{status} != 200 } @es], [],
         'event streams: statuses other than 200');
ok t_cmp(wait_for_value(sub { subscribers_of($ch) },
                        $n, 20), $n, 'event streams: subscribers');
my $parked = 0;
for (1 .. 8) {
    my $st = push_status();
    $parked = $st->{child_parked_streams} if $st->{child_parked_streams} > $parked;
}
t_debug("parked in one child: $parked");
ok t_num($parked, '>', 0, 'event streams parked in one child');
# The handler's place under PushMaxSubscribersPerChild is given back.
ok t_num(push_status()->{child_subscribers}, '<', 120,
         'subscribers holding a place in one child');

my $id = publish($ch, "to all $n")->{headers}{'x-push-message-id'};
my ($got, $bad) = (0, 0);
for my $c (@es) {
    sse_event($c, 5) unless $c->{retry_seen}++;     # the retry hint
    my $ev = sse_event($c, 10);
    if ($ev && $ev->{id} eq $id && $ev->{data} eq "to all $n") { $got++ }
    else { $bad++ }
}
t_debug("delivered $got, wrong or missing $bad");
ok t_cmp($got, $n, 'event streams that got the message');

# A second message reaches them all too (the channel's next wake-up).
my $id2 = publish($ch, "second")->{headers}{'x-push-message-id'};
$got = grep { my $ev = sse_event($_, 10); $ev && $ev->{id} eq $id2 } @es;
ok t_cmp($got, $n, 'event streams that got the second message');

# Hanging up frees the connections and the store's subscriptions.
close $_->{sock} for @es;
@es = ();
ok t_cmp(wait_for_value(sub { subscribers_of($ch) },
                        0, 15), 0, 'subscribers once the streams hung up');
ok t_cmp(wait_for(sub { !grep { push_status()->{child_parked_streams} } 1 .. 8 }, 10),
         1, 'no child has parked streams left');

# --- deletion: the notice, then the end of the response ---------------
$ch = fresh_channel('parkdel');
my $del = sse_open("/sub/$ch");
sse_event($del, 5);
ok t_cmp(wait_for_value(sub { subscribers_of($ch) },
                        1, 10), 1, 'deletion: the stream is counted');
request('DELETE', "/pub/$ch");
my $ev = sse_event($del, 10);
ok t_cmp($ev && ($ev->{event} || ''), 'push-deleted', 'deletion: a push-deleted event');
ok t_cmp($ev && $ev->{data}, $ch, 'push-deleted: the channel');
ok t_cmp(sse_closed($del, 10), 1, 'deletion: the stream ends');
ok t_cmp($del->{ended}, 1, 'deletion: with the last chunk');

# --- keep-alive comments at PushPingInterval (1 s here) ----------------
$ch = fresh_channel('parkping');
my $p = sse_open("/subping/$ch");
sse_event($p, 5);
my $t0 = time;
$ev = sse_event($p, 10);
my @comments = $ev ? @{ $ev->{comments} } : ();
ok t_cmp((grep { $_ eq ' ping' } @comments) ? 'a ping'
         : $ev ? "comments: [@comments]" : 'no event', 'a ping',
         'keep-alive: a " ping" comment');
ok t_num(time - $t0, '<', 8, 'keep-alive: seconds to come (PushPingInterval 1)');
close $p->{sock};

# --- a subscriber that stops reading holds nobody back -----------------
$ch = fresh_channel('parkslow');
my $slow = sse_open("/sub/$ch");      # never read until the end
my $fast = sse_open("/sub/$ch");
sse_event($fast, 5);
ok t_cmp(wait_for_value(sub { subscribers_of($ch) },
                        2, 10), 2, 'slow and fast: subscribers');
my $big = 'x' x (256 * 1024);
my @ids;
for my $i (1 .. 24) {   # 6 MB: far more than the socket buffers hold
    push @ids, publish($ch, "$i:$big", path => "/pubhuge/$ch")
                   ->{headers}{'x-push-message-id'};
    my $e = sse_event($fast, 10);
    $fast->{ok}++ if $e && $e->{id} eq $ids[-1];
}
ok t_cmp($fast->{ok}, 24, 'the fast reader: messages got as they came');
# The slow one gets all of them, in order, once it reads.
my @slow_ids;
sse_event($slow, 5);
for (1 .. 24) {
    my $e = sse_event($slow, 20) or last;
    push @slow_ids, $e->{id};
}
ok t_cmp("@slow_ids", "@ids", 'the slow reader: every id, in order');
close $_->{sock} for $slow, $fast;
ok t_cmp(wait_for_value(sub { subscribers_of($ch) },
                        0, 10), 0, 'slow and fast: subscribers once they hung up');

# --- WebSockets: more than threads, both ways --------------------------
$ch = fresh_channel('parkws');
my @ws;
for (1 .. $n) {
    my $c = ws_connect("/wspub/$ch") or last;
    push @ws, $c;
}
ok t_cmp(scalar @ws, $n, 'WebSockets opened');
ok t_cmp([map { $_->{status} } grep { $_->{status} != 101 } @ws], [],
         'WebSockets: statuses other than 101');
ok t_cmp(wait_for_value(sub { subscribers_of($ch) },
                        $n, 20), $n, 'WebSockets: subscribers');
$id = publish($ch, "ws to all")->{headers}{'x-push-message-id'};
$got = grep { my $f = ws_recv_data($_, 10); $f && $f->{payload} eq 'ws to all' } @ws;
t_debug("websockets delivered: $got");
ok t_cmp($got, $n, 'WebSockets that got the message');
# A parked WebSocket publishes, and answers pings, from the stream loop.
ws_send($ws[0], 9, 'hello?');
my $f = ws_recv($ws[0], 5);
ok t_cmp($f && $f->{opcode}, 10, 'a parked WebSocket: a pong');
ok t_cmp($f && $f->{payload}, 'hello?', 'a parked WebSocket: the pong\'s payload');
ws_send($ws[0], 1, 'from a client');
$got = grep { my $x = ws_recv_data($_, 10); $x && $x->{payload} eq 'from a client' } @ws[1 .. 20];
ok t_cmp($got, 20, 'WebSockets of 20 that got the parked one\'s message');
close $_->{sock} for @ws;
ok t_cmp(wait_for_value(sub { subscribers_of($ch) },
                        0, 15), 0, 'subscribers once the WebSockets hung up');

# --- a WebSocket that stops reading is dropped at its next ping -------
# (PushPingInterval 1 here): its socket is full, so it cannot answer.
$ch = fresh_channel('parkwsstall');
my $stall = ws_connect("/wsping/$ch");
ok t_cmp(wait_for_value(sub { subscribers_of($ch) },
                        1, 10), 1, 'the stalled WebSocket subscribed');
publish($ch, "$_:" . ('s' x (256 * 1024)), path => "/pubhuge/$ch") for 1 .. 16;
ok t_cmp(wait_for_value(sub { subscribers_of($ch) },
                        0, 15), 0, 'a WebSocket that stopped reading was dropped');
close $stall->{sock};

# --- long polls: more than threads, answered, kept alive, parked again --
$ch = fresh_channel('parklp');
my $zero = publish($ch, 'zero')->{headers}{'x-push-message-id'};
my @lp = map {
    start_request('GET', "/sub/$ch", headers => { 'Last-Event-ID' => $zero })
} 1 .. $n;
ok t_cmp(wait_for_value(sub { subscribers_of($ch) },
                        $n, 30), $n, 'long polls: subscribers');
# None was refused: a parked long poll holds no PushMaxSubscribersPerChild
# place, and no thread.
ok t_cmp(scalar(grep { read_response($_, 0.001) } @lp), 0,
         'long polls answered at once (refused)');
$parked = 0;
for (1 .. 8) {
    my $st = push_status();
    $parked = $st->{child_parked_streams} if $st->{child_parked_streams} > $parked;
}
ok t_num($parked, '>', 0, 'long polls parked in one child');
$id = publish($ch, 'lp to all')->{headers}{'x-push-message-id'};
my @answers = map { read_response($_, 15) } @lp;
$got = grep { $_ && $_->{status} == 200 && $_->{body} eq 'lp to all'
              && $_->{headers}{'x-push-message-id'} eq $id } @answers;
t_debug("long polls answered: $got");
ok t_cmp($got, $n, 'long polls answered 200 with the message and its id');
ok t_cmp(scalar(grep { $_ && ($_->{headers}{connection} || '') =~ /close/i } @answers),
         0, 'answers with Connection: close');
# The next poll on each same connection waits, parked again, and gets
# the next message.
start_request('GET', "/sub/$ch", conn => $_,
              headers => { 'Last-Event-ID' => $id }) for @lp;
ok t_cmp(wait_for_value(sub { subscribers_of($ch) },
                        $n, 30), $n, 'second polls: subscribers');
$id2 = publish($ch, 'second poll')->{headers}{'x-push-message-id'};
$got = grep { my $r = read_response($_, 15);
              $r && $r->{status} == 200 && $r->{body} eq 'second poll'
              && $r->{headers}{'x-push-message-id'} eq $id2 } @lp;
ok t_cmp($got, $n, 'second polls answered 200 with the message and its id');
# Every answer was logged, with its size.
my $log = Apache::Test::vars('t_logs') . '/access_log';
my $logged = 0;
if (open my $fh, '<', $log) {
    while (<$fh>) { $logged++ if m{"GET /sub/$ch HTTP/1\.1" 200 9$} }
}
t_debug("access log lines for the first answers: $logged");
ok t_cmp($logged, $n, 'access log lines for the first answers');
close $_->{sock} for @lp;
@lp = ();

# --- a parked long poll's timeout (PushLongPollTimeout 1), then another
# request on the same connection --------------------------------------
$ch = fresh_channel('parklpto');
my $last = publish($ch, 'x')->{headers}{'x-push-message-id'};
my $c = start_request('GET', "/subto/$ch", headers => { 'Last-Event-ID' => $last });
my $r = read_response($c, 10);
ok t_cmp($r && $r->{status}, 304, 'a parked long poll\'s timeout: status');
ok t_num($r && $r->{elapsed}, '>', 0.5, 'a parked long poll\'s timeout: seconds');
ok t_cmp($r && defined $r->{headers}{etag} ? 'present' : 'missing', 'present',
         'a parked long poll\'s timeout: Etag');
start_request('GET', '/status', conn => $c);
$r = read_response($c, 10);
ok t_cmp($r && $r->{status}, 200, 'the next request on the connection: status');
ok t_true($r && ($r->{status} // '') eq '200' ? json($r->{body})->{channels} : undef,
          'the next request on the connection: status channels');
close $c->{sock};

# --- pipelined: a request behind a waiting long poll is answered after
# it, in order ---------------------------------------------------------
$ch = fresh_channel('parkpipe');
$last = publish($ch, 'x')->{headers}{'x-push-message-id'};
$c = start_request('GET', "/sub/$ch", headers => { 'Last-Event-ID' => $last });
start_request('GET', "/pub/$ch", conn => $c);
ok t_cmp(read_response($c, 0.5), undef, 'pipelined: nothing before the long poll\'s answer');
$id = publish($ch, 'first in line')->{headers}{'x-push-message-id'};
$r = read_response($c, 10);
ok t_cmp($r && $r->{status}, 200, 'pipelined: the long poll first, status');
ok t_cmp($r && $r->{body}, 'first in line', 'pipelined: the long poll first, body');
$r = read_response($c, 10);
ok t_cmp($r && $r->{status}, 200, 'pipelined: then the request behind it, status');
ok t_cmp($r && ($r->{status} // '') eq '200' ? json($r->{body})->{last_message_id} : undef,
         $id, 'pipelined: then the request behind it, last_message_id');
close $c->{sock};

# --- deletion answers a parked long poll 410 ---------------------------
$ch = fresh_channel('parklpdel');
$last = publish($ch, 'x')->{headers}{'x-push-message-id'};
$c = start_request('GET', "/sub/$ch", headers => { 'Last-Event-ID' => $last });
ok t_cmp(wait_for_value(sub { subscribers_of($ch) },
                        1, 10), 1, 'a parked long poll: counted');
request('DELETE', "/pub/$ch");
$r = read_response($c, 10);
ok t_cmp($r && $r->{status}, 410, 'deletion answers a parked long poll: status');
ok t_cmp($r && $r->{body}, qr/deleted/, 'deletion answers a parked long poll: reason');
close $c->{sock};

# --- hanging up while parked frees the subscription and the connection -
$ch = fresh_channel('parklpgone');
$last = publish($ch, 'x')->{headers}{'x-push-message-id'};
@lp = map {
    start_request('GET', "/sub/$ch", headers => { 'Last-Event-ID' => $last })
} 1 .. 50;
ok t_cmp(wait_for_value(sub { subscribers_of($ch) },
                        50, 10), 50, '50 parked long polls: subscribers');
close $_->{sock} for @lp;
ok t_cmp(wait_for_value(sub { subscribers_of($ch) },
                        0, 10), 0, 'subscribers once the 50 hung up');
# Only the status requests' own connections are left in the loops.
ok t_cmp(wait_for(sub { !grep { push_status()->{child_parked_streams} } 1 .. 8 }, 10),
         1, 'no child has parked streams left');

# --- a big answer to a client that reads late is written out in full,
# and its connection goes on to the next poll ----------------------------
$ch = fresh_channel('parklpbig');
$last = publish($ch, 'x', path => "/pubhuge/$ch")->{headers}{'x-push-message-id'};
$c = start_request('GET', "/sub/$ch", headers => { 'Last-Event-ID' => $last });
ok t_cmp(wait_for_value(sub { subscribers_of($ch) },
                        1, 10), 1, 'the late reader: counted');
my $huge = join '', map { sprintf "%07d\n", $_ } 1 .. 262144;    # 2 MB
$id = publish($ch, $huge, path => "/pubhuge/$ch")->{headers}{'x-push-message-id'};
sleep 1.5;      # the rest waits in the server meanwhile
$r = read_response($c, 20);
ok t_cmp($r && $r->{status}, 200, 'a 2 MB answer read late: status');
ok t_cmp($r && length($r->{body}), length($huge), 'a 2 MB answer read late: length');
ok t_cmp($r && $r->{body} eq $huge ? 'identical' : 'different', 'identical',
         'a 2 MB answer read late: the bytes');
start_request('GET', "/sub/$ch", conn => $c, headers => { 'Last-Event-ID' => $id });
$id2 = publish($ch, 'after the big one')->{headers}{'x-push-message-id'};
$r = read_response($c, 10);
ok t_cmp($r && $r->{status}, 200, 'the next poll after the big one: status');
ok t_cmp($r && $r->{body}, 'after the big one', 'the next poll after the big one: body');
close $c->{sock};
