# EventSource options from nchan: PushEventSourceEvent names every
# message's event (where subscribers connect: what they are sent; where
# messages are published: what is stored), and PushEventSourcePing makes
# the keep-alive an event (nchan's nchan_eventsource_ping_event/_data)
# instead of a comment.
use strict;
use warnings FATAL => 'all';
use Apache::Test;
use Apache::TestUtil;
use PushTest;
use PushWS;

plan tests => 6;

my $ch = fresh_channel('esopt');
my $es = sse_open("/esname/$ch");
publish($ch, 'scored', headers => { 'X-EventSource-Event' => 'goal' });
my $ev;
$ev = sse_event($es, 5) while !$ev || !defined $ev->{data};
ok t_cmp([$ev->{event}, $ev->{data}], ['tick', 'scored'], 'PushEventSourceEvent tick: every event is "tick"');
my $ping;
for (1 .. 5) { my $e = sse_event($es, 3) or last; if (($e->{event} // '') eq 'ping') { $ping = $e; last } }
ok t_cmp($ping ? [$ping->{event}, $ping->{data}, exists $ping->{id} ? 'id' : 'no id'] : 'no ping',
         ['ping', '{}', 'no id'], 'PushEventSourcePing event ping "{}": the keep-alive is an event, no id');
close $es->{sock};
# The same channel elsewhere keeps the published name.
my $plain = sse_open("/sub/$ch");
$ev = undef;
$ev = sse_event($plain, 5) while !$ev || !defined $ev->{data};
ok t_cmp($ev->{event}, 'goal', 'elsewhere the published name stays');
close $plain->{sock};

my $nch = fresh_channel('esnamed');
request('POST', "/pubname/$nch", body => 'stored', headers => { 'X-EventSource-Event' => 'ignored' });
my $lp = request('GET', "/sub/$nch", timeout => 5);
ok t_cmp($lp->{headers}{'x-eventsource-event'}, 'named', 'PushEventSourceEvent on a publisher: the name stored with the message');
my $s2 = sse_open("/sub/$nch");
$ev = undef;
$ev = sse_event($s2, 5) while !$ev || !defined $ev->{data};
ok t_cmp([$ev->{event}, $ev->{data}], ['named', 'stored'], 'and sent as the event');
close $s2->{sock};

# A WebSocket publishing there: its messages are named so too.
my $wch = fresh_channel('esnamed');
my $wp = ws_connect("/pubname/$wch");
ws_send($wp, 1, 'from a socket');
ws_recv_data($wp, 10);      # the channel info
my $wl = request('GET', "/sub/$wch", timeout => 5);
ok t_cmp([$wl->{body}, $wl->{headers}{'x-eventsource-event'}], ['from a socket', 'named'],
         "PushEventSourceEvent on a publisher: a WebSocket's message is named too");
close $wp->{sock};
