# SetHandler push-pubsub (nchan's nchan_pubsub): on one URL, GET
# subscribes (every transport) and POST/PUT/DELETE publish; a WebSocket
# there publishes what it sends.  PushPublisherChannel and
# PushSubscriberChannel give the two sides channels of their own (the
# in/out bridge).
use strict;
use warnings FATAL => 'all';
use Apache::Test;
use Apache::TestUtil;
use PushTest;
use PushWS;

plan tests => 12;

# --- One channel. ---
my $ch = fresh_channel('ps');
my $p = request('POST', "/ps/$ch", body => 'posted');
ok t_cmp([$p->{status}, json($p->{body})->{channel}], [202, $ch], 'POST publishes to the channel');
my $g = request('GET', "/ps/$ch", timeout => 5);
ok t_cmp("$g->{status} $g->{body}", '200 posted', 'GET subscribes (a long poll) and gets it');
my $es = sse_open("/ps/$ch");
my $ev;
$ev = sse_event($es, 5) while !$ev || !defined $ev->{data};
ok t_cmp($ev && $ev->{data}, 'posted', 'EventSource subscribes too');
close $es->{sock};
my $ws = ws_connect("/ps/$ch");
my $f = ws_recv_data($ws, 5);
ws_send($ws, 1, 'from the socket');
my $echo = ws_recv_data($ws, 5);
ok t_cmp([$f && $f->{payload}, $echo && $echo->{payload}], ['posted', 'from the socket'],
         'a WebSocket gets the channel and publishes to it');
close $ws->{sock};
my $o = request('OPTIONS', "/ps/$ch");
ok t_cmp([$o->{status}, $o->{headers}{allow}, $o->{headers}{'x-push-websocket-publish'}],
         [204, 'GET, POST, PUT, DELETE, OPTIONS', 'On'], 'OPTIONS: both sides, and WebSocket publishing');
my $patch = request('PATCH', "/ps/$ch", body => 'x');
ok t_cmp([$patch->{status}, $patch->{headers}{allow}], [405, 'GET, POST, PUT, DELETE, OPTIONS'], 'PATCH: 405');
my $d = request('DELETE', "/ps/$ch");
ok t_cmp([$d->{status}, json($d->{body})->{messages}], [200, 2], 'DELETE deletes the channel');

# --- The bridge: in-X for what is sent, out-X for what is received. ---
my $side = fresh_channel('br');
request('POST', "/bridge/$side", body => 'to the app');
ok t_cmp([request('GET', "/pub/in-$side")->{status}, request('GET', "/pub/out-$side")->{status}],
         [200, 404], 'POST goes to PushPublisherChannel (in-X), not out-X');
my $c = start_request('GET', "/bridge/$side");
wait_for(sub { my $r = request('GET', "/pub/out-$side"); $r->{status} == 200 && json($r->{body})->{subscribers} == 1 }, 10);
publish("out-$side", 'from the app');
my $r = read_response($c, 10);
close $c->{sock};
ok t_cmp($r ? "$r->{status} $r->{body}" : 'no answer', '200 from the app', 'GET reads PushSubscriberChannel (out-X)');
my $b = ws_connect("/bridge/$side");
ws_send($b, 1, 'typed in the browser');
publish("out-$side", 'answered by the app');
my @got;
while (my $fr = ws_recv_data($b, 3)) { push @got, $fr->{payload}; last if $fr->{payload} eq 'answered by the app' }
close $b->{sock};
ok t_cmp(\@got, ['from the app', 'answered by the app'], 'a WebSocket on the bridge reads out-X only');
ok t_cmp(json(request('GET', "/pub/in-$side")->{body})->{messages}, 2, 'and what it sends goes to in-X');

# --- PushWebSocketPublish Off on a push-pubsub location. ---
my $q = ws_connect('/psquiet/' . fresh_channel('quiet'));
ws_send($q, 1, 'no');
my $cf = ws_recv_data($q, 5);
ok t_cmp([$cf && $cf->{opcode}, $cf && (ws_close_payload($cf->{payload}))[0]], [8, 1008],
         'PushWebSocketPublish Off: a message from the client closes with 1008');
