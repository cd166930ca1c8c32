# WebSocket: handshake, frames, close codes, pings, two-way messaging,
# permessage-deflate, wss://.
use strict;
use warnings FATAL => 'all';
use Apache::Test;
use Apache::TestUtil;
use PushTest;
use PushWS;
use Compress::Raw::Zlib;
use Time::HiRes qw(time sleep);

plan tests => 163;

sub ws_subs { push_status()->{subscribers}{websocket} }

sub expect_close {
    my ($c, $code, $name) = @_;
    my $f = ws_recv_data($c, 5);
    # Messages of the channel may come first.
    $f = ws_recv_data($c, 5) while $f && $f->{opcode} != 8;
    my ($got) = $f && $f->{opcode} == 8 ? ws_close_payload($f->{payload}) : ();
    ok t_cmp($got, $code, "$name: close code");
    ok t_cmp(ws_eof($c, 5), 1, "$name: the server closes the connection");
}

# --- Handshake. ---
my $ch = fresh_channel('ws');
my $w = ws_connect("/sub/$ch");
ok t_cmp($w->{status}, 101, 'handshake: status');
ok t_cmp($w->{headers}{'sec-websocket-accept'}, $w->{expected_accept}, 'accept key');
ok t_cmp(defined $w->{headers}{upgrade} ? lc $w->{headers}{upgrade} : undef,
         'websocket', 'handshake: Upgrade');
ok t_cmp($w->{headers}{connection}, qr/upgrade/i, 'handshake: Connection');
ok t_cmp($w->{headers}{'transfer-encoding'}, undef, 'handshake: no Transfer-Encoding');
ok t_cmp($w->{headers}{'content-encoding'}, undef, 'handshake: no Content-Encoding');
ok t_cmp($w->{headers}{'content-length'}, undef, 'handshake: no Content-Length');
ok t_cmp($w->{headers}{'sec-websocket-protocol'}, undef,
         'handshake: no Sec-WebSocket-Protocol when none offered');
ok t_cmp($w->{headers}{'sec-websocket-extensions'}, undef,
         'handshake: no Sec-WebSocket-Extensions when none offered');
ok t_cmp(wait_for(sub { ws_subs() >= 1 }, 5), 1, 'status: websocket subscribers >= 1');

# Messages: text when UTF-8, binary otherwise, server frames unmasked.
my $id1 = json(publish($ch, "hello \xc3\xa9")->{body})->{last_message_id};
my $f = ws_recv_data($w, 5);
ok t_cmp($f && $f->{opcode}, 1, 'UTF-8 message: a text frame');
ok t_cmp($f && $f->{payload}, "hello \xc3\xa9", 'UTF-8 message: payload');
ok t_cmp($f && $f->{masked}, 0, 'server frame: not masked');
ok t_cmp($f && $f->{fin}, 1, 'server frame: FIN');
publish($ch, "\xff\xfe binary");
$f = ws_recv_data($w, 5);
ok t_cmp($f && $f->{opcode}, 2, 'non-UTF-8 message: a binary frame');
ok t_cmp($f && $f->{payload}, "\xff\xfe binary", 'non-UTF-8 message: payload');
my $big = 'B' x 70000;    # 64-bit length encoding
publish($ch, $big);
$f = ws_recv_data($w, 5);
ok t_cmp($f && length($f->{payload}), 70000, '70000-byte message: payload length');

# Ping -> pong with the same payload; an unsolicited pong is ignored.
ws_send($w, 9, 'are you there');
$f = ws_recv($w, 5);
ok t_cmp($f && $f->{opcode}, 10, 'ping: a pong');
ok t_cmp($f && $f->{payload}, 'are you there', 'pong: the ping\'s payload');
ws_send($w, 10, 'unsolicited');
publish($ch, 'still here');
$f = ws_recv_data($w, 5);
ok t_cmp($f && $f->{payload}, 'still here', 'after an unsolicited pong');

# Data from a subscriber where PushWebSocketPublish is Off: 1008.
ws_send($w, 1, 'may I?');
expect_close($w, 1008, 'publish off');
ok t_cmp(wait_for_value(sub { ws_subs() }, 0, 5), 0, 'status: websocket subscribers after it');

# Resume with ?last_event_id.
my $r = ws_connect("/sub/$ch?last_event_id=$id1");
$f = ws_recv_data($r, 5);
ok t_cmp($f && $f->{payload}, "\xff\xfe binary", 'resumed by ?last_event_id');
close $r->{sock};

# Refusals: plain-text reasons.
my %bad = (
    'no Connection: upgrade' => [{ Connection => 'keep-alive' }, 400, qr/Connection/],
    'short key'  => [{ 'Sec-WebSocket-Key' => encode_key(15) }, 400, qr/Sec-WebSocket-Key/],
    'long key'   => [{ 'Sec-WebSocket-Key' => encode_key(17) }, 400, qr/Sec-WebSocket-Key/],
    'no key'     => [{ 'Sec-WebSocket-Key' => undef }, 400, qr/Sec-WebSocket-Key/],
    'version 8'  => [{ 'Sec-WebSocket-Version' => 8 }, 426, qr/13/],
);
sub encode_key { MIME::Base64::encode_base64(join('', map { chr 65 } 1 .. $_[0]), '') }
for my $name (sort keys %bad) {
    my ($h, $status, $re) = @{ $bad{$name} };
    my $x = ws_connect("/sub/$ch", headers => $h);
    ok t_cmp($x->{status}, $status, $name);
    ok t_cmp($x->{body}, $re, "$name reason");
    close $x->{sock};
}
# Tokens in lists, case-insensitively (what Firefox sends).
my $ff = ws_connect("/sub/$ch", headers => { Connection => 'keep-alive, Upgrade',
                                             Upgrade => 'WebSocket' });
ok t_cmp($ff->{status}, 101, 'Connection: keep-alive, Upgrade');
close $ff->{sock};
my $h10 = ws_connect("/sub/$ch", http10 => 1);
ok t_cmp($h10 && $h10->{status}, 400, 'HTTP/1.0 upgrade refused');
close $h10->{sock} if $h10;
my $v8 = ws_connect("/sub/$ch", headers => { 'Sec-WebSocket-Version' => 8 });
ok t_cmp($v8->{headers}{'sec-websocket-version'}, '13',
         'version 8: Sec-WebSocket-Version names 13');
my $post = ws_connect("/sub/$ch", method => 'POST');
ok t_cmp($post->{status}, 405, 'POST upgrade');
my $none = ws_connect("/wsnone/$ch");
ok t_cmp($none->{status}, 400, 'upgrade where websocket is not a transport');

# Origin: PushAllowOrigin is enforced on the upgrade.
my $evil = ws_connect("/subcors/$ch", headers => { Origin => 'https://evil.example' });
ok t_cmp($evil->{status}, 403, 'disallowed origin');
my $good = ws_connect("/subcors/$ch", headers => { Origin => 'https://app.example' });
ok t_cmp($good->{status}, 101, 'allowed origin');
close $good->{sock};

# --- ws+meta.nchan: selected only when offered; nchan's framing. ---
my $mch = fresh_channel('meta');
my $m = ws_connect("/sub/$mch", protocol => 'chat, ws+meta.nchan');
ok t_cmp($m->{headers}{'sec-websocket-protocol'}, 'ws+meta.nchan',
         'ws+meta.nchan selected when offered');
my $mid = json(request('POST', "/pub/$mch", body => 'meta!',
    headers => { 'Content-Type' => 'text/x-meta' })->{body})->{last_message_id};
$f = ws_recv_data($m, 5);
ok t_cmp($f && $f->{payload}, "id: $mid\ncontent-type: text/x-meta\n\nmeta!", 'meta framing');
close $m->{sock};
# ws+meta.push (push.js offers it first): nchan's framing plus the event
# name; a message without one is framed exactly as ws+meta.nchan frames it.
my $pm = ws_connect("/sub/$mch", protocol => 'ws+meta.push, ws+meta.nchan');
ok t_cmp($pm->{headers}{'sec-websocket-protocol'}, 'ws+meta.push',
         'ws+meta.push preferred when both are offered');
my $eid = json(request('POST', "/pub/$mch", body => 'scored',
    headers => { 'Content-Type' => 'text/x-meta',
                 'X-EventSource-Event' => 'goal' })->{body})->{last_message_id};
my $nid = json(request('POST', "/pub/$mch", body => 'plain')->{body})->{last_message_id};
$f = ws_recv_data($pm, 5);
# The first message still buffered comes first: skip to ours.
$f = ws_recv_data($pm, 5) while $f && $f->{payload} !~ /^id: \Q$eid\E\n/;
ok t_cmp($f && $f->{payload}, "id: $eid\ncontent-type: text/x-meta\nevent: goal\n\nscored",
         'ws+meta.push framing: the event line');
$f = ws_recv_data($pm, 5);
ok t_cmp($f && $f->{payload}, "id: $nid\n\nplain", 'ws+meta.push framing: no event, no line');
close $pm->{sock};
my $nm = ws_connect("/sub/$ch", protocol => 'chat');
ok t_cmp($nm->{status}, 101, 'only chat offered: status');
ok t_cmp($nm ? $nm->{headers}{'sec-websocket-protocol'} : 'no response', undef,
         'only chat offered: no Sec-WebSocket-Protocol');
close $nm->{sock};

# --- PushWebSocketClientHeartbeat: the text is answered, not published. ---
{
    my $hch = fresh_channel('hb');
    my $h = ws_connect("/wshb/$hch");
    ws_send($h, 1, 'ping?');
    my $f = ws_recv_data($h, 5);
    ok t_cmp([$f && $f->{opcode}, $f && $f->{payload}], [1, 'pong!'],
             'heartbeat: a text frame with the answer');
    publish($hch, 'after the heartbeat');
    $f = ws_recv_data($h, 5);
    ok t_cmp($f && $f->{payload}, 'after the heartbeat', 'heartbeat: the socket stays, messages flow');
    ws_send($h, 1, 'ping? ');
    $f = ws_recv_data($h, 5);
    ok t_cmp([$f && $f->{opcode}, $f && (ws_close_payload($f->{payload}))[0]], [8, 1008],
             'heartbeat: any other text still closes with 1008 (PushWebSocketPublish Off)');
    close $h->{sock};

    my $p = ws_connect("/wshbpub/$hch");
    ws_send($p, 1, 'ping?');
    $f = ws_recv_data($p, 5);
    my $skip = 0;
    # What the channel had is delivered first.
    $f = ws_recv_data($p, 5) while $f && $f->{payload} ne 'pong!' && ++$skip < 5;
    ws_send($p, 1, 'published');
    # The buffered message may come before or after the answer.
    my $e = ws_recv_data($p, 5);
    $e = ws_recv_data($p, 5) while $e && $e->{payload} ne 'published' && ++$skip < 8;
    ok t_cmp([$f && $f->{payload}, $e && $e->{payload},
              json(request('GET', "/pub/$hch")->{body})->{messages}],
             ['pong!', 'published', 2],
             'heartbeat where clients publish: answered, and not published (2 messages: one POST, one sent)');
    close $p->{sock};
    my $o = ws_connect("/wshbpub/off/$hch");
    ws_send($o, 1, 'ping?');
    $f = ws_recv_data($o, 5);
    $f = ws_recv_data($o, 5) while $f && $f->{payload} ne 'ping?' && ++$skip < 10;
    ok t_cmp($f && $f->{payload}, 'ping?', 'PushWebSocketClientHeartbeat Off: the text is a message like any other');
    close $o->{sock};
}

# --- Frame rules: each violation closes with the right code. ---
my $pch = fresh_channel('wsrules');
my @violations = (
    ['unmasked frame',           [1, 'x', mask => 0],             1002],
    ['RSV1 without extension',   [1, 'x', rsv => 4],              1002],
    ['RSV2',                     [1, 'x', rsv => 2],              1002],
    ['reserved opcode 3',        [3, 'x'],                        1002],
    ['reserved opcode 0xB',      [0xB, 'x'],                      1002],
    ['control frame of 126',     [9, 'p' x 126],                  1002],
    ['fragmented ping',          [9, 'p', fin => 0],              1002],
    ['continuation, no message', [0, 'x'],                        1002],
    ['invalid UTF-8 text',       [1, "bad \xc3\x28 text"],        1007],
    ['overlong UTF-8',           [1, "\xc0\xaf"],                 1007],
    ['surrogate in UTF-8',       [1, "\xed\xa0\x80"],             1007],
);
for my $v (@violations) {
    my ($name, $frame, $code) = @$v;
    my $c = ws_connect("/wspub/$pch");
    ws_send($c, @$frame);
    expect_close($c, $code, $name);
}
# A new data frame while a fragmented message is open.
{
    my $c = ws_connect("/wspub/$pch");
    ws_send($c, 1, 'part', fin => 0);
    ws_send($c, 1, 'again');
    expect_close($c, 1002, 'data frame inside a message');
}
# Invalid UTF-8 fails fast: before the final fragment is sent.
{
    my $c = ws_connect("/wspub/$pch");
    ws_send($c, 1, "ok \xf0\x28", fin => 0);
    expect_close($c, 1007, 'bad UTF-8 in the first fragment');
}

# --- Close handshake. ---
for my $code (1000, 1001, 1003, 1011, 3000, 4999) {
    my $c = ws_connect("/sub/$pch");
    ws_send($c, 8, pack('n', $code) . 'bye');
    expect_close($c, $code, "echo $code");
}
for my $code (0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000) {
    my $c = ws_connect("/sub/$pch");
    ws_send($c, 8, pack('n', $code));
    expect_close($c, 1002, "invalid code $code");
}
{
    my $c = ws_connect("/sub/$pch");
    ws_send($c, 8, 'x');
    expect_close($c, 1002, 'one-byte close');
    $c = ws_connect("/sub/$pch");
    ws_send($c, 8, pack('n', 1000) . "\xff");
    expect_close($c, 1007, 'close reason not UTF-8');
    $c = ws_connect("/sub/$pch");
    ws_send($c, 8, '');
    my $e = ws_recv_data($c, 5);
    ok t_cmp($e && $e->{opcode}, 8, 'empty close: a close frame back');
    ok t_cmp($e && $e->{payload}, '', 'empty close: an empty payload back');
}

# --- Two-way: fragments (with a ping between) reassembled, UTF-8 split
# across fragments, published to every transport, the sender included. ---
my $tch = fresh_channel('twoway');
publish($tch, 'seed');
my $seed = request('GET', "/sub/$tch")->{headers}{'x-push-message-id'};
my $lp = start_request('GET', "/sub/$tch", headers => { 'Last-Event-ID' => $seed });
my $es = sse_open("/sub/$tch", headers => { 'Last-Event-ID' => $seed });
sse_event($es, 5);
my $other = ws_connect("/sub/$tch?last_event_id=$seed");
my $sender = ws_connect("/wspub/$tch?last_event_id=$seed");
ok t_cmp(wait_for_value(sub { subscribers_of($tch) },
                        4, 5), 4, 'subscribers of every transport');
ws_send($sender, 1, "caf\xc3", fin => 0);
ws_send($sender, 9, 'between');
ws_send($sender, 0, "\xa9 au lait", fin => 1);
$f = ws_recv($sender, 5);
ok t_cmp($f && $f->{opcode}, 10, 'ping between fragments: a pong');
ok t_cmp($f && $f->{payload}, 'between', 'ping between fragments: its payload');
$f = ws_recv_data($sender, 5);
ok t_cmp($f && $f->{payload}, "caf\xc3\xa9 au lait", 'the sender gets its own message');
$f = ws_recv_data($other, 5);
ok t_cmp($f && $f->{payload}, "caf\xc3\xa9 au lait", 'another WebSocket gets it');
my $lr = read_response($lp, 5);
ok t_cmp($lr && $lr->{body}, "caf\xc3\xa9 au lait", 'a long poll gets it');
ok t_cmp($lr->{headers}{'content-type'}, qr{^text/plain},
         'a long poll gets it as text/plain');
my $se = sse_event($es, 5);
ok t_cmp($se && $se->{data}, "caf\xc3\xa9 au lait", 'an event stream gets it');
# Binary from a client stays binary.
ws_send($sender, 2, "\xff\x00\x01");
$f = ws_recv_data($other, 5);
ok t_cmp($f && $f->{opcode}, 2, 'binary from a client: a binary frame');
ok t_cmp($f && $f->{payload}, "\xff\x00\x01", 'binary from a client: payload');

# Over PushMaxMessageSize (1K): 1009 as soon as the header says so.
ws_send_raw($sender, substr(ws_frame(2, 'z' x 2000), 0, 8));
expect_close($sender, 1009, 'oversized message');
# ...and the same across fragments.
{
    my $c = ws_connect("/wspub/$tch");
    ws_send($c, 2, 'a' x 600, fin => 0);
    ws_send($c, 0, 'b' x 600, fin => 1);
    expect_close($c, 1009, 'oversized fragmented message');
}
close $_->{sock} for $other, $es;

# --- Server pings; a peer that stops answering is dropped. ---
my $pg = ws_connect("/wsping/" . fresh_channel('wsping'));
$f = ws_recv($pg, 5);
ok t_cmp($f && $f->{opcode}, 9, 'a server ping');
ws_send($pg, 10, $f->{payload});
$f = ws_recv($pg, 5);
ok t_cmp($f && $f->{opcode}, 9, 'another server ping after the pong');
# Now stay silent: the next ping finds the last unanswered.
my $t = time;
my $dropped = 0;
while (time - $t < 8) {
    my $x = ws_recv($pg, 8) or do { $dropped = 1; last };
    if ($x->{opcode} == 8) { $dropped = ws_eof($pg, 5); last }
}
ok t_cmp($dropped, 1, 'a peer that stops answering pings is dropped');

# --- DELETE closes with 1000. ---
my $dch = fresh_channel('wsdel');
publish($dch, 'x');
my $dw = ws_connect("/sub/$dch");
ws_recv_data($dw, 5);
request('DELETE', "/pub/$dch");
$f = ws_recv_data($dw, 5);
my ($dcode, $dreason) = $f ? ws_close_payload($f->{payload}) : ();
ok t_cmp($dcode, 1000, 'DELETE: close code');
ok t_cmp($dreason, qr/deleted/, 'DELETE: close reason');

# --- A client that vanishes is uncounted. ---
my $before = ws_subs();
my $v = ws_connect("/sub/" . fresh_channel('wsgone'));
ok t_cmp(wait_for_value(sub { ws_subs() }, $before + 1, 5), $before + 1,
         'websocket subscribers with one more');
close $v->{sock};
ok t_cmp(wait_for_value(sub { ws_subs() }, $before, 5), $before,
         'websocket subscribers once it vanished');

# --- permessage-deflate. ---
my $zch = fresh_channel('wsz');
my $z = ws_connect("/wspub/$zch", extensions => 'permessage-deflate; client_max_window_bits');
ok t_cmp($z->{headers}{'sec-websocket-extensions'}, qr/^permessage-deflate/, 'deflate agreed');
ok t_cmp($z->{headers}{'sec-websocket-extensions'}, qr/server_no_context_takeover/,
         'deflate: server_no_context_takeover');
my $text = "compress me " x 50;
publish($zch, $text);
$f = ws_recv_data($z, 5);
ok t_cmp($f && $f->{rsv1}, 1, 'deflate: RSV1 on the server message');
ok t_cmp(inflate_raw($f->{payload}), $text, 'inflated server message');
ok t_num(length($f->{payload}), '<', length($text), 'deflate: compressed length');
# A compressed client message is published inflated.
ws_send($z, 1, deflate_raw("from a compressing client " x 10), rsv => 4);
$f = ws_recv_data($z, 5);
ok t_cmp(inflate_raw($f->{payload}), "from a compressing client " x 10, 'client deflate');
ok t_cmp(json(request('GET', "/pub/$zch")->{body})->{messages}, 2,
         'deflate: messages in the channel');
# Inflating past PushMaxMessageSize: 1009 (the wire bytes are small).
ws_send($z, 1, deflate_raw('q' x 5000), rsv => 4);
expect_close($z, 1009, 'inflated size over the limit');
# PushWebSocketDeflate Off: no extension.
my $nz = ws_connect("/wsnodeflate/$zch", extensions => 'permessage-deflate');
ok t_cmp($nz->{status}, 101, 'PushWebSocketDeflate Off: status');
ok t_cmp($nz ? $nz->{headers}{'sec-websocket-extensions'} : 'no response', undef,
         'PushWebSocketDeflate Off: no Sec-WebSocket-Extensions');
close $nz->{sock};

# --- wss:// through mod_ssl. ---
my $sch = fresh_channel('wss');
my $s = ws_connect("/sub/$sch", ssl => 1);
ok t_cmp($s && $s->{status}, 101, 'wss handshake');
publish($sch, 'over tls');
$f = ws_recv_data($s, 5);
ok t_cmp($f && $f->{payload}, 'over tls', 'wss: a message');
ws_send($s, 9, 'tls ping');
$f = ws_recv($s, 5);
ok t_cmp($f && $f->{opcode}, 10, 'wss: a pong');
ok t_cmp($f && $f->{payload}, 'tls ping', 'wss: the pong\'s payload');
ws_send($s, 8, pack('n', 1000));
expect_close($s, 1000, 'wss close');

# --- Fan-out: each message is encoded (and deflated) once per process,
# not once per subscriber. ---
my $mpm = Apache::Test::config()->{server}{mpm} || '';
my $fch = fresh_channel('wsfan');
my @fan = map { ws_connect("/sub/$fch", extensions => 'permessage-deflate') } 1 .. 20;
ok t_cmp(wait_for_value(sub { subscribers_of($fch) },
                        20, 10), 20, 'fan-out: subscribers');
my $st0 = push_status();
publish($fch, "fan-out $_ " x 20) for 1 .. 3;
my $all = 0;
for my $c (@fan) {
    my $n = 0;
    for (1 .. 3) {
        my $x = ws_recv_data($c, 5) or last;
        $n++ if $x->{rsv1} && inflate_raw($x->{payload}) eq "fan-out $_ " x 20;
    }
    $all++ if $n == 3;
}
ok t_cmp($all, 20, 'fan-out: subscribers that got the 3 messages deflated');
my $st1 = push_status();
my $built = $st1->{encodings_built} - $st0->{encodings_built};
my $reused = $st1->{encodings_reused} - $st0->{encodings_reused};
t_debug("60 deliveries: $built encodings built, $reused reused");
# One build per message per child process; prefork has a process each.
ok t_cmp($built + $reused, 60, 'fan-out: encodings built + reused');
ok $mpm eq 'prefork'
   || t_num($built, '<=', 3 * 4, 'fan-out: encodings built (3 messages x 4 children)');
close $_->{sock} for @fan;


# --- More than one read's budget (64 KB) right behind the handshake ---
# Frames the client sent with its handshake wait in httpd's buffers: all
# of them are read and published, and the WebSocket stays open.

# A WebSocket handshake for $path sent in one write with the frames
# behind it: the connection, and the status that came.
sub ws_with_frames {
    my ($path, @frames) = @_;
    my $c = PushTest::conn();
    ws_send_raw($c, "GET $path HTTP/1.1\r\nHost: " . PushTest::hostport()
        . "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        . 'Sec-WebSocket-Key: ' . PushWS::_key() . "\r\nSec-WebSocket-Version: 13\r\n\r\n"
        . join('', @frames));
    my ($status) = PushTest::read_head($c, time + 10);
    return ($c, $status);
}

{
    my $bch = fresh_channel('ws-behind');
    my ($c, $status) = ws_with_frames("/wspub/$bch",
        map { ws_frame(1, sprintf('m%03d', $_) . 'x' x 996) } 1 .. 100);
    ok t_cmp($status, 101, '100 KB of frames behind the handshake: 101');
    my $info;
    wait_for(sub {
        my $r = request('GET', "/pub/$bch", headers => { Accept => 'application/json' });
        $info = $r && $r->{status} == 200 ? json($r->{body}) : undef;
        $info && $info->{messages} == 100 }, 10);
    ok t_cmp($info ? $info->{messages} : 'no channel', 100,
             '100 KB of frames behind the handshake: every message published');
    ws_send($c, 9, 'still there?');
    my ($texts, $pong) = (0, undef);
    while (my $f = ws_recv($c, 10)) {
        $texts++ if $f->{opcode} == 1;
        if ($f->{opcode} == 10) { $pong = $f->{payload}; last }
        last if $f->{opcode} == 8;
    }
    ok t_cmp(($pong // 'no pong') . " after $texts messages", 'still there? after 100 messages',
             '100 KB of frames behind the handshake: the WebSocket stays open, with its messages');
    close $c->{sock};
}
# More than 1 MB that way: read up to 1 MB, then closed with 1008 (in 17
# large messages: a thousand small publishes take long under ASan).
{
    my ($c, $status) = ws_with_frames('/wshbpub/' . fresh_channel('ws-flood'),
                                      map { ws_frame(1, 'y' x 65000) } 1 .. 17);
    ok t_cmp($status, 101, '1.1 MB of frames behind the handshake: 101');
    expect_close($c, 1008, '1.1 MB of frames behind the handshake');
}
