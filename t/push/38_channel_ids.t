# Channel ids as nchan takes them: up to 1,024 bytes of anything but
# control characters (: / @ % spaces, any script), %-decoded from the URL,
# on every transport; longer than PushMaxChannelIdLength, broken UTF-8 or
# a control character is 400 with a reason.  Ids over 255 bytes live in
# the store's long-id table.
use strict;
use warnings FATAL => 'all';
use Apache::Test;
use Apache::TestUtil;
use PushTest;
use PushWS;

plan tests => 17;

sub enc { my $s = shift; $s =~ s/([^A-Za-z0-9_.~-])/sprintf '%%%02X', ord $1/ge; $s }
my $u = fresh_channel('id');

# Each id, published to and long-polled from its URL (one path segment).
my @ids = ("in:$u", "user\@$u.example", "50%-$u", "a b $u", "caf\xc3\xa9-$u",
           "say \"hi\" \\ $u");
my @got;
for my $id (@ids) {
    my $p = publish(undef, "to $id", path => '/pub/' . enc($id));
    my $s = request('GET', '/sub/' . enc($id), timeout => 5);
    push @got, "$p->{status} $s->{status} $s->{body}";
}
ok t_cmp(\@got, [map { "202 200 to $_" } @ids], 'ids with : @ % spaces, UTF-8 and quotes');
my $info = json(request('GET', '/pub/' . enc($ids[-1]))->{body});
ok t_cmp($info->{channel}, $ids[-1], "channel info's JSON carries the id, escaped");

# Several path segments through PushChannel (room/7).
my $deep = "room/$u/7";
my $dp = request('POST', "/deep/$deep/pub", body => 'deep');
my $ds = request('GET', "/deep/$deep/sub", timeout => 5);
ok t_cmp("$dp->{status} $ds->{status} $ds->{body}", '202 200 deep', "an id with slashes ($deep)");
ok t_cmp(json(request('GET', "/deep/$deep/pub")->{body})->{channel}, $deep, 'its info names it');
# Without PushChannel the id is still one segment (a <Location> per path).
my $two = request('GET', "/sub/room/$u", timeout => 5);
ok t_cmp($two->{status}, 400, 'two segments below a plain <Location>: 400');

# Refused, with a reason (and the id not echoed).
my $cr = request('GET', '/sub/' . enc("bad\nid"), timeout => 5);
ok t_cmp([$cr->{status}, $cr->{body}], [400, qr/control characters/], 'a newline: 400');
my $ff = request('GET', '/sub/caf%C3', timeout => 5);
ok t_cmp([$ff->{status}, $ff->{body}], [400, qr/UTF-8/], 'broken UTF-8: 400');
my $del = request('GET', '/sub/' . enc("del\x7f"), timeout => 5);
ok t_cmp($del->{status}, 400, 'DEL: 400');

# Length: 1,024 bytes is an id, 1,025 is not; PushMaxChannelIdLength.
my $long = substr("long-$u-" . ('x' x 1024), 0, 1024);
my $lp = publish($long, 'long one');
my $ls = request('GET', "/sub/$long", timeout => 5);
ok t_cmp("$lp->{status} $ls->{status} $ls->{body}", '202 200 long one', 'a 1,024-byte id');
my $too = request('GET', "/sub/${long}y", timeout => 5);
ok t_cmp([$too->{status}, $too->{body}], [400, qr/1025 bytes, at most 1024/], 'a 1,025-byte id: 400');
my $short = request('GET', '/shortid/' . ('s' x 17), timeout => 5);
ok t_cmp([$short->{status}, $short->{body}], [400, qr/17 bytes, at most 16 \(PushMaxChannelIdLength\)/],
         'PushMaxChannelIdLength 16: a 17-byte id is 400');

# Two long ids that differ only in their last byte are two channels.
my $long2 = substr($long, 0, 1023) . 'z';
publish($long2, 'other long');
ok t_cmp([map { json(request('GET', "/pub/$_")->{body})->{messages} } $long, $long2], [1, 1],
         'long ids differing in the last byte: two channels');

# Streams on a long id with odd bytes: SSE and WebSocket get the message,
# and a DELETE ends them with the id in the notice.
my $odd = "ev:" . $u . '/' . ('w' x 400);
my $es = sse_open("/deep/$odd/sub");
ok t_cmp($es && $es->{status}, 200, 'an event stream on a 400-byte id with : and /');
sse_event($es, 5);    # the retry hint
my $ws = ws_connect("/deep/$odd/sub");
ok t_cmp($ws && $ws->{status}, 101, 'a WebSocket on it');
publish(undef, 'to odd', path => "/deep/$odd/pub");
my $ev = sse_event($es, 5);
my $wm = $ws && ws_recv_data($ws, 5);
ok t_cmp([$ev && $ev->{data}, $wm && $wm->{payload}], ['to odd', 'to odd'],
         'both got the message');
request('DELETE', "/deep/$odd/pub");
my $gone;
for (1 .. 3) { my $e = sse_event($es, 5) or last; if (($e->{event} // '') eq 'push-deleted') { $gone = $e; last } }
ok t_cmp($gone && $gone->{data}, qr/\Q$odd\E/, "the stream's push-deleted names the channel");
close $ws->{sock} if $ws;
close $es->{sock} if $es;
ok t_cmp(wait_for_value(sub { request('GET', "/deep/$odd/pub")->{status} }, 404, 10), 404,
         'deleted, and no subscriber left on it');
