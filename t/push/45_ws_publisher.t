# A WebSocket on a publisher location (nchan's websocket publisher): each
# message the client sends is published to the location's channel (or to
# each of a multiplexed location's channels) and answered with the
# channel's info, in the format the handshake's Accept named.  A binary
# frame is published as application/octet-stream.  It is no subscriber:
# it receives nothing but those answers.
use strict;
use warnings FATAL => 'all';
use Apache::Test;
use Apache::TestUtil;
use PushTest;
use PushWS;

plan tests => 14;

my $ch = fresh_channel('wsp');
my $es = sse_open("/sub/$ch");
my $before = push_status()->{subscribers}{websocket} // 0;
my $ws = ws_connect("/pub/$ch", headers => { Accept => 'application/json' });
ok t_cmp($ws && $ws->{status}, 101, 'a WebSocket on a publisher location');
ok t_cmp($ws && $ws->{headers}{'sec-websocket-accept'}, $ws && $ws->{expected_accept},
         'with the handshake answered');

ws_send($ws, 1, 'hello from a socket');
my $e = sse_data($es, 10);
ok t_cmp($e && $e->{data}, 'hello from a socket', 'its message reaches the subscribers');
my $f = ws_recv_data($ws, 10);
my $info = eval { json($f->{payload}) } || {};
ok t_cmp([$f && $f->{opcode}, $info->{subscribers}, $info->{messages} >= 1 ? 'some' : 'none'],
         [1, 1, 'some'], 'and is answered with the channel info, as JSON (its Accept)');
ok t_cmp($info->{last_message_id}, $e && $e->{id}, 'naming the message it published');
ok t_cmp(push_status()->{subscribers}{websocket} // 0, $before, 'it is no subscriber');

# Binary: application/octet-stream.
ws_send($ws, 2, "\x00\x01\xff");
my $b = sse_data($es, 10);
ws_recv_data($ws, 10);
my $last = request('GET', "/sub/$ch",
                   headers => { 'Last-Event-ID' => $e->{id} });
ok t_cmp([$last->{status}, $last->{headers}{'content-type'}, $last->{body}],
         [200, 'application/octet-stream', "\x00\x01\xff"], 'a binary frame: published as application/octet-stream');

# Ping, then a close, answered.
ws_send($ws, 9, 'are you there');
my $pong = ws_recv($ws, 10);
ok t_cmp([$pong && $pong->{opcode}, $pong && $pong->{payload}], [10, 'are you there'], 'a ping is answered');
ws_send($ws, 8, pack('n', 1000) . 'bye');
my $cl = ws_recv($ws, 10);
ok t_cmp([$cl && $cl->{opcode}, $cl ? (ws_close_payload($cl->{payload}))[0] : undef], [8, 1000],
         'a close is echoed');
ok t_cmp(ws_eof($ws, 5), 1, 'and the connection ends');
close $es->{sock};

# Accept: text/plain asks for nchan's text, as from an HTTP publisher.
my $t = ws_connect("/pub/$ch", headers => { Accept => 'text/plain' });
ws_send($t, 1, 'plain');
my $tf = ws_recv_data($t, 10);
ok t_cmp($tf && $tf->{payload}, qr/^queued messages: \d+\r?\n/m, "Accept: text/plain: nchan's text");
close $t->{sock};

# A multiplexed publisher location: each channel gets it.
my ($ma, $mb) = (fresh_channel('wspa'), fresh_channel('wspb'));
my $sa = sse_open("/sub/$ma");
my $sb = sse_open("/sub/$mb");
my $mw = ws_connect("/mux/pub/$ma/$mb", headers => { Accept => 'application/json' });
ws_send($mw, 1, 'to both');
my ($ea, $eb) = (sse_data($sa), sse_data($sb));
ok t_cmp([$ea && $ea->{data}, $eb && $eb->{data}], ['to both', 'to both'], 'a multiplexed one publishes to each channel');
my $mi = eval { json(ws_recv_data($mw, 10)->{payload}) } || {};
ok t_cmp($mi->{subscribers}, 2, 'and its answer sums their subscribers');
close $_->{sock} for $sa, $sb, $mw;

# Too big for the location: 1009.
my $big = ws_connect("/pubtiny/$ch");
ws_send($big, 1, 'x' x 4096);
my $bf = ws_recv_data($big, 10);
ok t_cmp($bf ? (ws_close_payload($bf->{payload}))[0] : undef, 1009, 'a message over PushMaxMessageSize: 1009');
