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

plan tests => 10;

sub info { my $r = request('GET', "/nohistpub/$_[0]", headers => { Accept => 'application/json' });
           $r->{status} == 200 ? json($r->{body}) : { status => $r->{status} } }

my $ch = fresh_channel('nh');
my $alone = request('POST', "/nohistpub/$ch", body => 'nobody there');
ok t_cmp($alone->{status}, 202, 'published with no subscriber: 202');
ok t_cmp(request('GET', "/nohistpub/$ch")->{status}, 404,
         'and nothing kept: the channel has neither messages nor subscribers');

# A stream gets every message published while it is connected.
my $es = sse_open("/nohist/$ch");
sleep 0.3;
request('POST', "/nohistpub/$ch", body => "m$_") for 1 .. 20;
my @got = map { my $e = sse_data($es, 10); $e ? $e->{data} : 'none' } 1 .. 20;
ok t_cmp("@got", join(' ', map { "m$_" } 1 .. 20), 'a connected stream gets all 20, in order');
ok t_cmp(wait_for_value(sub { info($ch)->{messages} }, 0, 5), 0, 'taken: none is kept');

# A waiting long poll holds for its message.
my $wait = start_request('GET', "/nohist/$ch");
sleep 0.3;
request('POST', "/nohistpub/$ch", body => 'to the poll');
my $p = read_response($wait, 10);
ok t_cmp("$p->{status} $p->{body}", '200 to the poll', 'a waiting long poll gets the message');

# A long poll on a location that keeps history, of a channel whose
# publisher keeps none: it holds too.
my $w2 = start_request('GET', "/sub/$ch");
sleep 0.3;
request('POST', "/nohistpub/$ch", body => 'again');
my $p2 = read_response($w2, 10);
ok t_cmp("$p2->{status} $p2->{body}", '200 again', 'so does one elsewhere on a channel without history');

# Between polls nothing waits: the next poll from the old cursor is told
# that it missed one, with the next message.
request('POST', "/nohistpub/$ch", body => 'missed');
my $w3 = start_request('GET', "/nohist/$ch",
                       headers => { 'If-Modified-Since' => $p->{headers}{'last-modified'},
                                    'If-None-Match' => $p->{headers}{etag} });
my $early = read_response($w3, 0.5);
ok t_cmp($early ? $early->{status} : 'waiting', 'waiting', 'the missed message is not there to give');
request('POST', "/nohistpub/$ch", body => 'next');
my $p3 = read_response($w3, 10);
ok t_cmp([$p3->{status}, $p3->{body}], [200, 'next'], 'it gets the next one');
ok t_cmp($p3->{headers}{'x-push-gap'} // '', qr/^\d+:\d+$/, 'told of the gap (X-Push-Gap)');
my $sse_closed = close $es->{sock};
ok t_cmp(wait_for_value(sub { my $i = info($ch); $i->{status} // 200 }, 404, 5), 404,
         'with its subscribers gone, nothing is left of the channel');
