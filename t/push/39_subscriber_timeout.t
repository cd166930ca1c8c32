# PushSubscriberTimeout (nchan's nchan_subscriber_timeout): a subscriber
# that gets no message for that long is ended: a long poll with 408 and
# a reason, an event stream and a chunked stream closed (pings are not
# messages), a WebSocket with 1000 "408 Request Timeout".  Each message
# starts the wait again.  Under the event MPM the streams are parked and
# the loop's expiry ends them; under prefork and worker their thread's
# wait does.
use strict;
use warnings FATAL => 'all';
use Apache::Test;
use Apache::TestUtil;
use PushTest;
use PushWS;
BEGIN { *read_head = \&PushTest::read_head }
use Time::HiRes qw(time sleep);

plan tests => 9;

my $ch = fresh_channel('to');

# A long poll: 408 after about 1 s (the limit is 1 s; a generous bound).
my $t0 = time;
my $lp = request('GET', "/subexpire/$ch", timeout => 10);
my $took = time - $t0;
ok t_cmp([$lp->{status}, $lp->{body}], [408, qr/PushSubscriberTimeout/],
         'a long poll with no message: 408 with the reason');
ok t_true($took >= 0.9 && $took < 5, "after about the limit ($took s)");

# Streams: one fed every 0.4 s for 2.4 s stays; the others, never fed,
# end.  Then the fed one ends too, 1 s after its last message.
my $fed = fresh_channel('to');
my $es = sse_open("/subexpire/$fed");
my $ws = ws_connect("/subexpire/$ch");
my $ck = start_request('GET', "/subexpire/$ch", headers => { TE => 'chunked' });
my ($ckst, undef, $ckh) = read_head($ck, time + 5);
ok t_cmp([$es && $es->{status}, $ws && $ws->{status}, $ckst], [200, 101, 200],
         'an event stream, a WebSocket and a chunked stream open');
my @got;
for my $i (1 .. 6) {
    sleep 0.4;
    my $id = publish($fed, "m$i")->{headers}{'x-push-message-id'};
    my $ev;
    do { $ev = sse_event($es, 3) } while ($ev && !defined $ev->{data});
    push @got, $ev && $ev->{data};
}
ok t_cmp(\@got, [map { "m$_" } 1 .. 6], 'the fed event stream got every message, 2.4 s long');

my ($code, $reason);
while (my $f = ws_recv_data($ws, 5)) {
    if ($f->{opcode} == 8) { ($code, $reason) = ws_close_payload($f->{payload}); last }
}
ok t_cmp([$code, $reason], [1000, '408 Request Timeout'], 'the WebSocket: 1000 "408 Request Timeout"');
ok t_cmp(PushTest::sse_closed({ %$ck, chunked => 1, text => '' }, 5), 1,
         'the chunked stream ends');
ok t_cmp(PushTest::sse_closed($es, 5), 1, 'the fed event stream ends once left alone');
sub subs { my $r = request('GET', "/pub/$_[0]"); $r->{status} == 200 ? json($r->{body})->{subscribers} : 0 }
ok t_cmp(wait_for_value(sub { subs($fed) }, 0, 10), 0, 'its subscription ended');
ok t_cmp(wait_for_value(sub { subs($ch) }, 0, 10), 0, 'so did the others');
