# Server-Sent Events: framing, resume, keep-alive, disconnects, DELETE,
# CORS, no compression, many streams.
use strict;
use warnings FATAL => 'all';
use Apache::Test;
use Apache::TestUtil;
use PushTest;
use Time::HiRes qw(time sleep);

plan tests => 56;

sub subs_es {
    my $st = push_status();
    return $st->{subscribers}{eventsource};
}

my $ch = fresh_channel('sse');
my $s = sse_open("/sub/$ch");
ok t_cmp($s && $s->{status}, 200, 'event stream: status');
ok t_cmp($s->{headers}{'content-type'}, 'text/event-stream; charset=utf-8',
         'event stream: Content-Type');
ok t_cmp($s->{headers}{'cache-control'}, 'no-cache, no-transform',
         'event stream: Cache-Control');
ok t_cmp($s->{headers}{'x-accel-buffering'}, 'no', 'event stream: X-Accel-Buffering');
ok t_cmp($s->{headers}{'content-encoding'}, undef, 'event stream: no Content-Encoding');
my $ev = sse_event($s, 5);
ok t_cmp($ev && $ev->{retry}, qr/^\d+$/, 'first event: a retry hint');

# Each message arrives as it is published (read before the next publish).
my @bodies = ("plain", "two\nlines", "crlf\r\nline\r\nbreaks", "lone\rcr",
              "trailing\n", "caf\xc3\xa9 \xf0\x9f\x8e\xb2", "");
my @want = ("plain", "two\nlines", "crlf\nline\nbreaks", "lone\ncr",
            "trailing\n", "caf\xc3\xa9 \xf0\x9f\x8e\xb2", "");
my (@ids, @got);
for my $b (@bodies) {
    my $id = json(publish($ch, $b)->{body})->{last_message_id};
    push @ids, $id;
    my $e = sse_event($s, 5);
    push @got, $e;
}
for my $i (0 .. $#bodies) {
    ok t_cmp($got[$i] && $got[$i]{id}, $ids[$i], "id of message $i");
    ok t_cmp($got[$i] && $got[$i]{data}, $want[$i], "data of message $i");
}
# Event names from X-EventSource-Event.
my $nid = json(request('POST', "/pub/$ch", body => 'named',
    headers => { 'X-EventSource-Event' => 'scores' })->{body})->{last_message_id};
$ev = sse_event($s, 5);
ok t_cmp($ev && $ev->{event}, 'scores', 'X-EventSource-Event: the event name');
ok t_cmp($ev && $ev->{data}, 'named', 'X-EventSource-Event: the data');
ok t_cmp($ev && $ev->{id}, $nid, 'X-EventSource-Event: the id');
ok t_num(subs_es(), '>=', 1, 'status: eventsource subscribers');

# --- Resume with Last-Event-ID and with ?last_event_id. ---
my $r1 = sse_open("/sub/$ch", headers => { 'Last-Event-ID' => $ids[2] });
sse_event($r1, 5);   # retry
my @resumed = map { (sse_event($r1, 5) || {})->{id} } 3 .. 6;
ok t_cmp("@resumed", "@ids[3..6]", 'resumed by Last-Event-ID: ids');
my $r2 = sse_open("/sub/$ch?last_event_id=$ids[4]");
sse_event($r2, 5);
my @r2 = map { (sse_event($r2, 5) || {})->{id} } 5 .. 6;
ok t_cmp("@r2", "@ids[5..6]", 'resumed by ?last_event_id: ids');
# Nothing more until the next publish; then exactly it, on every stream.
my $more = json(publish($ch, 'more')->{body})->{last_message_id};
my $e1 = sse_event($r1, 5);
ok t_cmp($e1 && $e1->{id}, $nid, 'r1: the named event next');   # it still had it to get
ok t_cmp((sse_event($r1, 5) || {})->{id}, $more, 'r1: then the new one');
ok t_cmp((sse_event($r2, 5) || {})->{id}, $nid, 'r2: the named event next');
ok t_cmp((sse_event($r2, 5) || {})->{id}, $more, 'r2: then the new one');
ok t_cmp((sse_event($s, 5) || {})->{data}, 'more', 'the first stream: the new one');
close $_->{sock} for $r1, $r2;

# Malformed resume cursor: 400.
ok t_cmp(request('GET', "/sub/$ch", headers => { Accept => 'text/event-stream',
    'Last-Event-ID' => 'garbage' })->{status}, 400, 'a malformed Last-Event-ID');

# --- A cursor older than the buffer: a push-gap event first. ---
my $gch = fresh_channel('ssegap');
my @gid = map { json(request('POST', "/pubsmall/$gch", body => "g$_")->{body})
                    ->{last_message_id} } 1 .. 5;
my $g = sse_open("/sub/$gch", headers => { 'Last-Event-ID' => $gid[0] });
sse_event($g, 5);
$ev = sse_event($g, 5);
ok t_cmp($ev && $ev->{event}, 'push-gap', 'an evicted cursor: a push-gap event');
ok t_cmp($ev && $ev->{data}, $gid[1], 'push-gap: the newest lost id');
ok t_cmp($ev ? $ev->{id} : 'no event', undef, 'push-gap: no id');
$ev = sse_event($g, 5);
ok t_cmp($ev && $ev->{data}, 'g3', 'after the gap: the oldest kept');
ok t_cmp($ev && $ev->{id}, $gid[2], 'after the gap: its id');
close $g->{sock};

# --- Keep-alive comments (PushPingInterval 1). ---
my $p = sse_open("/subping/" . fresh_channel('ping'));
sse_event($p, 5);
my $t = time;
$ev = sse_event($p, 5);
ok t_num($ev ? scalar @{ $ev->{comments} } : undef, '>', 0, 'keep-alive: comment lines');
ok t_cmp($ev ? $ev->{data} : 'no event', undef, 'keep-alive: no data');
ok t_num(time - $t, '<', 4, 'keep-alive: seconds to come (PushPingInterval 1)');
# The count below starts once this one is gone (on a worker thread it
# is noticed at the thread's next look, not at once).
my $with_p = subs_es();
close $p->{sock};
wait_for_value(sub { subs_es() }, $with_p - 1, 5);

# --- A vanished client is noticed: the count falls. ---
my $before = subs_es();
my $d = sse_open("/sub/" . fresh_channel('drop'));
ok t_cmp(wait_for_value(sub { subs_es() }, $before + 1, 5), $before + 1,
         'eventsource subscribers with one more');
close $d->{sock};
ok t_cmp(wait_for_value(sub { subs_es() }, $before, 5), $before,
         'eventsource subscribers once it hung up');

# --- DELETE ends the stream after a push-deleted event. ---
my $dch = fresh_channel('ssedel');
publish($dch, 'x');
my $ds = sse_open("/sub/$dch");
sse_event($ds, 5);
sse_event($ds, 5);   # x
ok t_cmp(request('DELETE', "/pub/$dch")->{status}, 200, 'DELETE with a stream');
$ev = sse_event($ds, 5);
ok t_cmp($ev && $ev->{event}, 'push-deleted', 'DELETE: a push-deleted event');
ok t_cmp($ev && $ev->{data}, $dch, 'push-deleted: the channel');
ok t_cmp(sse_closed($ds, 5), 1, 'DELETE: the stream ends');

# --- CORS on the stream. ---
my $cs = sse_open("/subcors/$ch", headers => { Origin => 'https://app.example' });
ok t_cmp($cs->{headers}{'access-control-allow-origin'}, 'https://app.example',
         'event stream: Access-Control-Allow-Origin');
close $cs->{sock};

# --- SetOutputFilter DEFLATE does not touch event streams... ---
my $zch = fresh_channel('deflate');
my $z = sse_open("/subdeflate/$zch", headers => { 'Accept-Encoding' => 'gzip' });
ok t_cmp($z->{headers}{'content-encoding'}, undef, 'DEFLATE location: no Content-Encoding');
sse_event($z, 5);
publish($zch, 'z' x 2000);
$ev = sse_event($z, 5);
ok t_cmp($ev && $ev->{data}, 'z' x 2000, 'DEFLATE location: the event, as sent');
close $z->{sock};
# ...while it does compress the long-poll answers of the same location.
my $lp = request('GET', "/subdeflate/$zch", headers => { 'Accept-Encoding' => 'gzip' });
ok t_cmp($lp->{headers}{'content-encoding'}, 'gzip', 'DEFLATE is active there');

# --- Not an eventsource location: Accept is ignored, long poll answers. ---
my $nch = fresh_channel('noes');
publish($nch, 'lp');
my $np = request('GET', "/subnoes/$nch", headers => { Accept => 'text/event-stream' });
ok t_cmp($np->{status}, 200, 'Accept: text/event-stream elsewhere: status');
ok t_cmp($np->{body}, 'lp', 'Accept: text/event-stream elsewhere: a long-poll answer');

# --- 200 concurrent streams, 10 messages each, in order. ---
my $mch = fresh_channel('many');
my @streams;
my %refused;
my $deadline = time + 120;
while (@streams < 200 && time < $deadline) {
    my $x = sse_open("/sub/$mch");
    if ($x && $x->{status} == 200) { push @streams, $x; next }
    # 503 from a child at its subscriber cap: retry, as a client would.
    $refused{ $x ? $x->{status} : 'timeout' }++;
    close $x->{sock} if $x;
    sleep 0.2;
}
t_debug("opened " . scalar(@streams) . " streams; refused: "
        . join(', ', map { "$_ x$refused{$_}" } sort keys %refused));
ok t_cmp(scalar @streams, 200, 'streams opened');
ok t_cmp(wait_for_value(sub { subscribers_of($mch) },
                        200, 30), 200, 'subscribers of the 200 streams');
my @mids = map { json(publish($mch, "n$_")->{body})->{last_message_id} } 1 .. 10;
my $complete = 0;
for my $x (@streams) {
    my @seen;
    while (@seen < 10) {
        my $e = sse_event($x, 10) or last;
        push @seen, $e->{id} if defined $e->{id};
    }
    $complete++ if "@seen" eq "@mids";
}
t_debug("$complete of 200 streams got all 10 messages in order");
ok t_cmp($complete, 200, 'streams that got all 10 messages in order');
close $_->{sock} for @streams;
ok t_cmp(wait_for_value(sub { subscribers_of($mch) },
                        0, 15), 0, 'subscribers once the 200 hung up');
