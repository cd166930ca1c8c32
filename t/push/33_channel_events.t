# PushChannelEventsChannel (nchan's nchan_channel_events_channel_id): a
# location's channel events — subscriber_enqueue, subscriber_dequeue,
# channel_publish, channel_delete — published as "<event> <channel>" to
# the channel it names, on every transport; none for the events channel
# itself.
use strict;
use warnings FATAL => 'all';
use Apache::Test;
use Apache::TestUtil;
use PushTest;
use PushWS;

plan tests => 4;

# Watch the events channel from its next message on.
my $watch = sse_open('/subnew/meta-events');
sub events {
    my ($n) = @_;
    my @got;
    while (@got < $n) {
        my $e = sse_event($watch, 5) or last;
        push @got, $e->{data} if defined $e->{data};
    }
    return \@got;
}

my $ch = fresh_channel('ev');
# A long poll comes and waits, a publish answers it.
my $lp = start_request('GET', "/evsub/$ch");
wait_for(sub { my $r = request('GET', "/pub/$ch"); $r->{status} == 200 && json($r->{body})->{subscribers} == 1 }, 10);
request('POST', "/evpub/$ch", body => 'hello');
read_response($lp, 10);
close $lp->{sock};
# The publish and the answered poll's dequeue happen in two processes at
# once: either may be said first.
my $e = events(3);
ok t_cmp([$e->[0], sort @$e[1 .. $#$e]],
         ["subscriber_enqueue $ch", "channel_publish $ch", "subscriber_dequeue $ch"],
         'a long poll: enqueue, then the publish and its dequeue');

# A WebSocket and an event stream come and go.
my $ws = ws_connect("/evsub/$ch");
ws_recv_data($ws, 5);
my $es = sse_open("/evsub/$ch");
close $ws->{sock};
wait_for(sub { json(request('GET', "/pub/$ch")->{body})->{subscribers} == 1 }, 10);
close $es->{sock};
ok t_cmp(events(4), ["subscriber_enqueue $ch", "subscriber_enqueue $ch",
                     "subscriber_dequeue $ch", "subscriber_dequeue $ch"],
         'a WebSocket and an event stream: enqueue and dequeue each');

request('DELETE', "/evpub/$ch");
ok t_cmp(events(1), ["channel_delete $ch"], 'a delete');

# The events channel's own subscribers make no events.
my $self = sse_open('/evsub/meta-events');
close $self->{sock};
request('POST', "/evpub/$ch", body => 'last');
ok t_cmp(events(1), ["channel_publish $ch"], 'none for the events channel itself');
close $watch->{sock};
