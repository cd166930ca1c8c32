# A channel's own limits, as nchan has them: PushMaxChannelSubscribers
# (403 past it, on every transport, counted over every process) and
# PushSubscribeExistingChannelsOnly (403 for a channel with neither
# messages nor subscribers).
use strict;
use warnings FATAL => 'all';
use Apache::Test;
use Apache::TestUtil;
use PushTest;
use PushWS;

plan tests => 9;

# --- PushMaxChannelSubscribers 2 ---
my $ch = fresh_channel('max');
my @held = map { sse_open("/submax2/$ch") } 1 .. 2;
ok t_cmp([map { $_ && $_->{status} } @held], [200, 200], 'two event streams: admitted');
wait_for(sub { json(request('GET', "/pub/$ch")->{body})->{subscribers} == 2 }, 10);
my $lp = request('GET', "/submax2/$ch", timeout => 5);
ok t_cmp([$lp->{status}, $lp->{body}],
         [403, qr/Channel \Q$ch\E has as many subscribers as it may \(PushMaxChannelSubscribers 2\)/],
         'a third, by long poll: 403 with the reason');
my $ws = ws_connect("/submax2/$ch");
ok t_cmp([$ws && $ws->{status}, $ws && $ws->{body}], [403, qr/PushMaxChannelSubscribers 2/],
         'a third, by WebSocket: 403 before the handshake');
my $es = sse_open("/submax2/$ch");
ok t_cmp($es && $es->{status}, 403, 'a third, by EventSource: 403');
ok t_cmp(json(request('GET', "/pub/$ch")->{body})->{subscribers}, 2,
         'the refused ones were never counted');
close $held[0]{sock};
wait_for(sub { json(request('GET', "/pub/$ch")->{body})->{subscribers} == 1 }, 10);
my $again = sse_open("/submax2/$ch");
ok t_cmp($again && $again->{status}, 200, 'once one left, a new one is admitted');
close $_->{sock} for grep { $_ } $held[1], $again;

# --- PushSubscribeExistingChannelsOnly On ---
my $new = fresh_channel('exist');
my $r = request('GET', "/subexisting/$new", timeout => 5);
ok t_cmp([$r->{status}, $r->{body}],
         [403, qr/Channel \Q$new\E does not exist \(PushSubscribeExistingChannelsOnly\)/],
         'a channel that does not exist: 403 with the reason');
my $w = ws_connect("/subexisting/$new");
ok t_cmp($w && $w->{status}, 403, 'the same by WebSocket');
publish($new, 'now it exists');
my $ok = request('GET', "/subexisting/$new", timeout => 5);
ok t_cmp([$ok->{status}, $ok->{body}], [200, 'now it exists'], 'once published to: subscribed');
