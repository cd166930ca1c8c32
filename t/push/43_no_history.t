# PushMessageBufferLength 0 (nchan's nchan_message_buffer_length 0 and
# nchan_store_messages off): a channel keeps no history.  A message
# reaches the subscribers connected when it is published (streams, and
# long polls waiting then, parked or not) and nobody else; nothing is kept
# once they took it.  A client that comes back from before a message that
# nobody was there for is told of the gap, never silently.
use strict;
use warnings FATAL => 'all';
use Apache::Test;
use Apache::TestUtil;
use PushTest;

plan tests => 12;

sub info { my $r = request('GET', "/nohistpub/$_[0]", headers => { Accept => 'application/json' });
           $r->{status} == 200 ? json($r->{body}) : { status => $r->{status} } }

# Until channel $ch has $n subscribers: a message without history reaches
# only those there when it is published (a fixed sleep is not enough
# when a prefork child has to be started for the request).
sub subscribers_are {
    my ($ch, $n) = @_;
    return wait_for_value(sub { info($ch)->{subscribers} // 0 }, $n, 10);
}

my $ch = fresh_channel('nh');
my $alone = request('POST', "/nohistpub/$ch", body => 'nobody there');
ok t_cmp($alone->{status}, 202, 'published with no subscriber: 202');
ok t_cmp(request('GET', "/nohistpub/$ch")->{status}, 404,
         'and nothing kept: the channel has neither messages nor subscribers');

# A stream gets every message published while it is connected.
my $es = sse_open("/nohist/$ch");
subscribers_are($ch, 1);
request('POST', "/nohistpub/$ch", body => "m$_") for 1 .. 20;
my @got = map { my $e = sse_data($es, 10); $e ? $e->{data} : 'none' } 1 .. 20;
ok t_cmp("@got", join(' ', map { "m$_" } 1 .. 20), 'a connected stream gets all 20, in order');
ok t_cmp(wait_for_value(sub { info($ch)->{messages} }, 0, 5), 0, 'taken: none is kept');

# With the stream gone, nothing is left of the channel.
close $es->{sock};
ok t_cmp(wait_for_value(sub { my $i = info($ch); $i->{status} // 200 }, 404, 5), 404,
         'with its subscriber gone, nothing is left of the channel');

# Long polls, on a channel nobody else holds for.
my $lp = fresh_channel('nhl');
request('POST', "/nohistpub/$lp", body => 'before anyone');

# A waiting long poll holds for its message.
my $wait = start_request('GET', "/nohist/$lp");
subscribers_are($lp, 1);
request('POST', "/nohistpub/$lp", body => 'to the poll');
my $p = read_response($wait, 10) || { status => 'no answer', body => '', headers => {} };
ok t_cmp("$p->{status} $p->{body}", '200 to the poll', 'a waiting long poll gets the message');

# One too big for the loop to answer itself (it goes to a worker, under
# event): still held for the poll.
my $big = 'b' x (20 * 1024);
subscribers_are($lp, 0);
my $wb = start_request('GET', "/nohist/$lp",
                       headers => { 'If-Modified-Since' => $p->{headers}{'last-modified'},
                                    'If-None-Match' => $p->{headers}{etag} });
subscribers_are($lp, 1);
request('POST', "/nohistpub/$lp", body => $big);
my $pb = read_response($wb, 10);
ok t_cmp([$pb->{status}, length($pb->{body} // '')], [200, length $big],
         'a waiting long poll gets a 20 KB message too');

# A long poll on a location that keeps history, of a channel whose
# publisher keeps none: it holds too.
subscribers_are($lp, 0);
my $w2 = start_request('GET', "/sub/$lp",
                       headers => { 'If-Modified-Since' => $pb->{headers}{'last-modified'},
                                    'If-None-Match' => $pb->{headers}{etag} });
subscribers_are($lp, 1);
request('POST', "/nohistpub/$lp", body => 'again');
my $p2 = read_response($w2, 10) || { status => 'no answer', body => '', headers => {} };
ok t_cmp("$p2->{status} $p2->{body}", '200 again', 'so does one elsewhere on a channel without history');

# Between polls nothing waits: the next poll from the old cursor is told
# that it missed one, with the next message.
request('POST', "/nohistpub/$lp", body => 'missed');
my $w3 = start_request('GET', "/nohist/$lp",
                       headers => { 'If-Modified-Since' => $p2->{headers}{'last-modified'},
                                    'If-None-Match' => $p2->{headers}{etag} });
my $early = read_response($w3, 0.5);
ok t_cmp($early ? $early->{status} : 'waiting', 'waiting', 'the missed message is not there to give');
subscribers_are($lp, 1);
request('POST', "/nohistpub/$lp", body => 'next');
my $p3 = read_response($w3, 10) || { status => 'no answer', body => '', headers => {} };
ok t_cmp([$p3->{status}, $p3->{body}], [200, 'next'], 'it gets the next one');
ok t_cmp($p3->{headers}{'x-push-gap'} // '', qr/^\d+:\d+$/, 'told of the gap (X-Push-Gap)');
ok t_cmp(wait_for_value(sub { my $i = info($lp); $i->{status} // 200 }, 404, 5), 404,
         'with the polls answered, nothing is left of it either');
