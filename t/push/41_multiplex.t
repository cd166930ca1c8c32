# Multiplexed channels, as nchan's: PushChannel with several expressions
# (or PushChannelSplit) makes one subscriber of several channels.  Every
# channel's messages come in publish order on every transport, with
# nchan's multi-channel ids ("T:t0,[t1]": a tag per channel, the message's
# own bracketed, -1 for a channel with nothing at time T), from which a
# client resumes; a publish or DELETE names several channels at once; and
# nchan's "revoke" recipe (a shared room plus a channel of the user's own
# that the application deletes) ends the user's subscription alone.
use strict;
use warnings FATAL => 'all';
use Apache::Test;
use Apache::TestUtil;
use PushTest;
use PushWS;

plan tests => 27;

my $MULTI_ID = qr/^\d+:(?:\[?-?\d+\]?,)*\[?-?\d+\]?$/;

# The index of the bracketed tag of a multi-id.
sub active_of {
    my ($id) = @_;
    my ($tags) = $id =~ /:(.*)$/ or return -1;
    my @t = split /,/, $tags;
    for my $i (0 .. $#t) { return $i if $t[$i] =~ /^\[/ }
    return -1;
}

my ($a, $b) = (fresh_channel('mxa'), fresh_channel('mxb'));

# Server-Sent Events: both channels, in publish order, with multi-ids.
my $es = sse_open("/mux/sub/$a/$b");
ok t_cmp($es->{status}, 200, 'an event stream on two channels');
sleep 0.2;
publish($a, 'a1');
publish($b, 'b1');
publish($a, 'a2');
my @ev = map { sse_data($es, 10) } 1 .. 3;
ok t_cmp(join(' ', map { $_ ? $_->{data} : 'none' } @ev), 'a1 b1 a2',
         "both channels' messages, in the order they were published");
ok t_cmp(join(' ', map { $_ && $_->{id} =~ $MULTI_ID ? 'multi' : ($_ ? $_->{id} : 'none') } @ev),
         'multi multi multi', 'each id is a multi-channel id (T:t0,t1)');
ok t_cmp(join(' ', map { $_ ? active_of($_->{id}) : -2 } @ev), '0 1 0',
         "each id brackets its own channel's tag");

# Resumed from the second event's id: the third, then what comes next.
my $again = sse_open("/mux/sub/$a/$b",
                     headers => { 'Last-Event-ID' => $ev[1]{id} });
my $r1 = sse_data($again, 10);
ok t_cmp($r1 && $r1->{data}, 'a2', 'Last-Event-ID resumes after the message it names');
publish($b, 'b2');
my $r2 = sse_data($again, 10);
my $o2 = sse_data($es, 10);
ok t_cmp([$r2 && $r2->{data}, $o2 && $o2->{data}], ['b2', 'b2'],
         'then the next one, on the resumed stream and the first one alike');
ok t_cmp($r2 && $r2->{id}, $o2 && $o2->{id}, 'both give it the same id');

# A malformed multi-id: 400 with a reason.
my $bad = request('GET', "/mux/sub/$a/$b",
                  headers => { 'Last-Event-ID' => '5:1,2,3', Accept => 'text/event-stream' });
ok t_cmp([$bad->{status}, $bad->{body}], [400, qr/multi-channel message id/],
         'three tags for two channels: 400, said why');

# Long polls: each answer's Last-Modified + Etag carry the multi cursor.
my ($la, $lb) = (fresh_channel('mxla'), fresh_channel('mxlb'));
my $wait = start_request('GET', "/mux/sub/$la/$lb");
sleep 0.3;
publish($lb, 'first');
my $p1 = read_response($wait, 10);
ok t_cmp([$p1->{status}, $p1->{body}], [200, 'first'], 'a long poll on two channels: the first message');
ok t_cmp($p1->{headers}{etag} // '', qr/^-1,\[0\]$/, "its Etag: the channels' tags, its own bracketed");
publish($la, 'second');
publish($lb, 'third');
my %cur = ('If-Modified-Since' => $p1->{headers}{'last-modified'},
           'If-None-Match' => $p1->{headers}{etag});
my $p2 = request('GET', "/mux/sub/$la/$lb", headers => \%cur);
my $p3 = request('GET', "/mux/sub/$la/$lb",
                 headers => { 'If-Modified-Since' => $p2->{headers}{'last-modified'},
                              'If-None-Match' => $p2->{headers}{etag} });
ok t_cmp("$p2->{body} $p3->{body}", 'second third', 'from each cursor, the next message, in order');
my $w4 = start_request('GET', "/mux/sub/$la/$lb",
                       headers => { 'If-Modified-Since' => $p3->{headers}{'last-modified'},
                                    'If-None-Match' => $p3->{headers}{etag} });
sleep 0.3;
publish($la, 'fourth');
my $p4 = read_response($w4, 10);
ok t_cmp($p4->{body}, 'fourth', 'caught up, it waits for either channel');

# WebSocket, with ws+meta.nchan's ids.
my ($wa, $wb) = (fresh_channel('mxwa'), fresh_channel('mxwb'));
my $ws = ws_connect("/mux/sub/$wa/$wb", protocol => 'ws+meta.nchan');
ok t_cmp($ws && $ws->{status}, 101, 'a WebSocket on two channels');
sleep 0.2;
publish($wb, 'w1');
publish($wa, 'w2');
my @wf = map { ws_recv_data($ws, 10) } 1 .. 2;
# ws+meta.nchan: "id: <id>\n[other headers\n]\n<body>".
sub meta_of {
    my ($f) = @_;
    return ['', 'none'] unless $f;
    my ($head, $body) = split /\n\n/, $f->{payload}, 2;
    my ($id) = $head =~ /^id: (\S+)/m;
    return [$id // '', $body // 'none'];
}
my @wbody = map { meta_of($_) } @wf;
ok t_cmp(join(' ', map { $_->[1] } @wbody), 'w1 w2', 'both, in publish order');
ok t_cmp(join(' ', map { active_of($_->[0]) } @wbody), '1 0', 'with multi-ids naming their channel');

# One publish to two channels: each channel has it; the subscriber of
# both gets it from each, and the answer sums the subscribers.
my $both = request('POST', "/mux/pub/$wa/$wb", body => 'to-both');
ok t_cmp($both->{status}, 201, 'a publish to two channels: 201');
my @wf2 = map { ws_recv_data($ws, 10) } 1 .. 2;
ok t_cmp(join(' ', map { meta_of($_)->[1] } @wf2),
         'to-both to-both', 'the subscriber of both gets it from each');
my $info = json(request('GET', "/mux/pub/$wa/$wb", headers => { Accept => 'application/json' })->{body});
ok t_cmp($info->{subscribers}, 2, 'channel info on both sums their subscribers');
close $ws->{sock};

# DELETE of two channels at once.
my ($da, $db) = (fresh_channel('mxda'), fresh_channel('mxdb'));
publish($da, 'x');
publish($db, 'y');
my $del = request('DELETE', "/mux/pub/$da/$db");
ok t_cmp([$del->{status}, request('GET', "/pub/$da")->{status}, request('GET', "/pub/$db")->{status}],
         [200, 404, 404], 'DELETE of two channels deletes both');

# Revoke: a room and each user's own channel; deleting one user's
# channel ends that user's stream, the other goes on.
my ($room, $u1, $u2) = (fresh_channel('mxroom'), fresh_channel('u'), fresh_channel('u'));
my $s1 = sse_open("/mux/room/$room/$u1");
my $s2 = sse_open("/mux/room/$room/$u2");
sleep 0.2;
publish($room, 'hello all');
my ($h1, $h2) = (sse_data($s1, 10), sse_data($s2, 10));
ok t_cmp([$h1 && $h1->{data}, $h2 && $h2->{data}], ['hello all', 'hello all'],
         'both users get the room');
request('DELETE', "/pub/user_$u1");
my $gone = sse_data($s1, 10);
ok t_cmp([$gone && $gone->{event}, $gone && $gone->{data}, sse_closed($s1, 10)],
         ['push-deleted', "user_$u1", 1], "the revoked user's stream is told and ends");
publish($room, 'after');
my $h3 = sse_data($s2, 10);
ok t_cmp($h3 && $h3->{data}, 'after', 'the other user still gets the room');

# The same over a WebSocket and a waiting long poll.
# (A fresh room: the first one's messages would be theirs to get first.)
my ($room2, $u3, $u4) = (fresh_channel('mxroom'), fresh_channel('u'), fresh_channel('u'));
my $rw = ws_connect("/mux/room/$room2/$u3");
my $rl = start_request('GET', "/mux/room/$room2/$u4");
sleep 0.3;
request('DELETE', "/pub/user_$u3");
request('DELETE', "/pub/user_$u4");
my $rc = ws_recv_data($rw, 10);
ok t_cmp($rc ? [$rc->{opcode}, (ws_close_payload($rc->{payload}))[0]] : 'nothing', [8, 1000],
         "a revoked user's WebSocket is closed (1000)");
my $rp = read_response($rl, 10);
ok t_cmp($rp->{status}, 410, "a revoked user's waiting long poll: 410");

# PushChannelSplit: one expression, several ids.
my @ids = map { fresh_channel('mxs') } 1 .. 3;
my $sp = sse_open('/mux/split/' . join(',', @ids));
sleep 0.2;
publish($ids[2], 's2');
publish($ids[0], 's0');
my @se = map { sse_data($sp, 10) } 1 .. 2;
ok t_cmp(join(' ', map { $_ ? $_->{data} . '@' . active_of($_->{id}) : 'none' } @se), 's2@2 s0@0',
         'PushChannelSplit: three channels from one value');
my $empty = request('GET', '/mux/split/' . "$ids[0],,$ids[1]");
ok t_cmp([$empty->{status}, $empty->{body}], [400, qr/PushChannelSplit cuts an empty string/],
         'an empty piece: 400, said why');
my $many = request('GET', '/mux/split/' . join(',', map { "c$_" } 1 .. 256));
ok t_cmp([$many->{status}, $many->{body}], [400, qr/at most 255/], 'more than 255 channels: 400');
