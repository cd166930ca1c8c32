# PushFirstMessage with nchan's numbers: N starts a subscriber without a
# cursor at the Nth buffered message from the oldest, -N at the Nth from
# the newest, 0 at the next one published; past what is buffered, N waits
# for the next one and -N starts at the oldest.  On every transport.
use strict;
use warnings FATAL => 'all';
use Apache::Test;
use Apache::TestUtil;
use PushTest;
use PushWS;

plan tests => 8;

my $ch = fresh_channel('first');
publish($ch, "m$_") for 1 .. 5;

sub longpoll_body { my $r = request('GET', $_[0], timeout => 5); $r ? "$r->{status} $r->{body}" : 'no answer' }
ok t_cmp(longpoll_body("/first2/$ch"), '200 m2', 'PushFirstMessage 2: the second buffered message');
ok t_cmp(longpoll_body("/firstm2/$ch"), '200 m4', 'PushFirstMessage -2: the second from the newest');
ok t_cmp(longpoll_body("/firstm50/$ch"), '200 m1', 'PushFirstMessage -50, 5 buffered: the oldest');

# 0 and 50: the next message published.
for my $case (['/first0', 'PushFirstMessage 0'], ['/first50', 'PushFirstMessage 50, 5 buffered']) {
    my ($loc, $name) = @$case;
    my $c = start_request('GET', "$loc/$ch");
    wait_for(sub { json(request('GET', "/pub/$ch")->{body})->{subscribers} >= 1 }, 10);
    publish($ch, "next for $loc");
    my $r = read_response($c, 10);
    close $c->{sock};
    ok t_cmp($r ? "$r->{status} $r->{body}" : 'no answer', "200 next for $loc", "$name: the next one published");
}

# Event streams and WebSockets start there too, and go on in order.
my $fresh = fresh_channel('firststream');
publish($fresh, "s$_") for 1 .. 5;
my $es = sse_open("/firstm2/$fresh");
my @ev;
while (@ev < 2) {
    my $e = sse_event($es, 5) or last;
    push @ev, $e->{data} if defined $e->{data};   # not the retry: hint
}
ok t_cmp(\@ev, ['s4', 's5'], 'EventSource, PushFirstMessage -2: the last two, in order');
close $es->{sock};
my $ws = ws_connect("/first2/$fresh");
my @wm = map { my $f = ws_recv_data($ws, 5); $f ? $f->{payload} : '(none)' } 1 .. 4;
ok t_cmp(\@wm, ['s2', 's3', 's4', 's5'], 'WebSocket, PushFirstMessage 2: from the second on');
close $ws->{sock};
# A cursor wins over PushFirstMessage.
my $cur = request('GET', "/first2/$fresh", timeout => 5, headers => { 'Last-Event-ID' => '0:0' });
ok t_cmp("$cur->{status} $cur->{body}", '200 s1', 'a cursor (the empty one) wins over PushFirstMessage');
