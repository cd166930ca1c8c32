# Server-Sent Events: framing, resume, keep-alive, disconnects, DELETE,
# CORS, no compression, many streams.
use strict;
use warnings FATAL => 'all';
use Apache::Test;
use Apache::TestUtil;
use PushTest;
use Time::HiRes qw(time sleep);

plan tests => 48;

sub subs_es {
    my $st = push_status();
    return $st->{subscribers}{eventsource};
}

my $ch = fresh_channel('sse');
my $s = sse_open("/sub/$ch");
ok $s && $s->{status} == 200;
ok t_cmp($s->{headers}{'content-type'}, 'text/event-stream; charset=utf-8');
ok t_cmp($s->{headers}{'cache-control'}, 'no-cache, no-transform');
ok t_cmp($s->{headers}{'x-accel-buffering'}, 'no');
ok !exists $s->{headers}{'content-encoding'};
my $ev = sse_event($s, 5);
ok $ev && $ev->{retry} =~ /^\d+$/;

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
ok $ev && $ev->{event} eq 'scores' && $ev->{data} eq 'named' && $ev->{id} eq $nid;
ok subs_es() >= 1;

# --- Resume with Last-Event-ID and with ?last_event_id. ---
my $r1 = sse_open("/sub/$ch", headers => { 'Last-Event-ID' => $ids[2] });
sse_event($r1, 5);   # retry
my @resumed = map { (sse_event($r1, 5) || {})->{id} } 3 .. 6;
ok "@resumed" eq "@ids[3..6]";
my $r2 = sse_open("/sub/$ch?last_event_id=$ids[4]");
sse_event($r2, 5);
my @r2 = map { (sse_event($r2, 5) || {})->{id} } 5 .. 6;
ok "@r2" eq "@ids[5..6]";
# Nothing more until the next publish; then exactly it, on every stream.
my $more = json(publish($ch, 'more')->{body})->{last_message_id};
my $e1 = sse_event($r1, 5);
ok $e1 && $e1->{id} eq $nid;          # r1 still had the named one to get
ok((sse_event($r1, 5) || {})->{id} eq $more);
ok((sse_event($r2, 5) || {})->{id} eq $nid);
ok((sse_event($r2, 5) || {})->{id} eq $more);
ok((sse_event($s, 5) || {})->{data} eq 'more');
close $_->{sock} for $r1, $r2;

# Malformed resume cursor: 400.
ok request('GET', "/sub/$ch", headers => { Accept => 'text/event-stream',
    'Last-Event-ID' => 'garbage' })->{status} == 400;

# --- A cursor older than the buffer: a push-gap event first. ---
my $gch = fresh_channel('ssegap');
my @gid = map { json(request('POST', "/pubsmall/$gch", body => "g$_")->{body})
                    ->{last_message_id} } 1 .. 5;
my $g = sse_open("/sub/$gch", headers => { 'Last-Event-ID' => $gid[0] });
sse_event($g, 5);
$ev = sse_event($g, 5);
ok $ev && $ev->{event} eq 'push-gap' && $ev->{data} eq $gid[1] && !defined $ev->{id};
$ev = sse_event($g, 5);
ok $ev && $ev->{data} eq 'g3' && $ev->{id} eq $gid[2];
close $g->{sock};

# --- Keep-alive comments (PushPingInterval 1). ---
my $p = sse_open("/subping/" . fresh_channel('ping'));
sse_event($p, 5);
my $t = time;
$ev = sse_event($p, 5);
ok $ev && @{ $ev->{comments} } && !defined $ev->{data};
ok time - $t < 4;
close $p->{sock};

# --- A vanished client is noticed: the count falls. ---
my $before = subs_es();
my $d = sse_open("/sub/" . fresh_channel('drop'));
ok wait_for(sub { subs_es() == $before + 1 }, 5);
close $d->{sock};
ok wait_for(sub { subs_es() == $before }, 5);

# --- DELETE ends the stream after a push-deleted event. ---
my $dch = fresh_channel('ssedel');
publish($dch, 'x');
my $ds = sse_open("/sub/$dch");
sse_event($ds, 5);
sse_event($ds, 5);   # x
ok request('DELETE', "/pub/$dch")->{status} == 200;
$ev = sse_event($ds, 5);
ok $ev && $ev->{event} eq 'push-deleted' && $ev->{data} eq $dch;
ok sse_closed($ds, 5);

# --- CORS on the stream. ---
my $cs = sse_open("/subcors/$ch", headers => { Origin => 'https://app.example' });
ok $cs->{headers}{'access-control-allow-origin'} eq 'https://app.example';
close $cs->{sock};

# --- SetOutputFilter DEFLATE does not touch event streams... ---
my $zch = fresh_channel('deflate');
my $z = sse_open("/subdeflate/$zch", headers => { 'Accept-Encoding' => 'gzip' });
ok !exists $z->{headers}{'content-encoding'};
sse_event($z, 5);
publish($zch, 'z' x 2000);
$ev = sse_event($z, 5);
ok $ev && $ev->{data} eq 'z' x 2000;
close $z->{sock};
# ...while it does compress the long-poll answers of the same location.
my $lp = request('GET', "/subdeflate/$zch", headers => { 'Accept-Encoding' => 'gzip' });
ok t_cmp($lp->{headers}{'content-encoding'}, 'gzip', 'DEFLATE is active there');

# --- Not an eventsource location: Accept is ignored, long poll answers. ---
my $nch = fresh_channel('noes');
publish($nch, 'lp');
my $np = request('GET', "/subnoes/$nch", headers => { Accept => 'text/event-stream' });
ok $np->{status} == 200 && $np->{body} eq 'lp';

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
ok @streams == 200;
ok wait_for(sub { json(request('GET', "/pub/$mch")->{body})->{subscribers} == 200 }, 30);
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
ok $complete == 200;
close $_->{sock} for @streams;
ok wait_for(sub { json(request('GET', "/pub/$mch")->{body})->{subscribers} == 0 }, 15);
