# Short polling (PushTransports poll): the same answers, at once.
use strict;
use warnings FATAL => 'all';
use Apache::Test;
use Apache::TestUtil;
use PushTest;
use Time::HiRes qw(time);

plan tests => 18;

my $ch = fresh_channel('poll');

# Nothing yet: 304 at once.
my $t = time;
my $r = request('GET', "/poll/$ch");
ok t_cmp($r->{status}, 304, 'empty channel: status');
ok t_num(time - $t, '<', 2, 'empty channel: seconds to answer');
ok t_cmp($r->{headers}{etag}, '0', 'empty channel: Etag');
# What it said is a cursor the client may echo, as browsers do.
my %empty = ('If-Modified-Since' => $r->{headers}{'last-modified'},
             'If-None-Match' => $r->{headers}{etag});
$r = request('GET', "/poll/$ch", headers => \%empty);
ok t_cmp($r->{status}, 304, "empty channel, its own 304 echoed ($empty{'If-Modified-Since'}): status");

my $id1 = json(publish($ch, 'one')->{body})->{last_message_id};
my $id2 = json(publish($ch, 'two')->{body})->{last_message_id};
$r = request('GET', "/poll/$ch", headers => \%empty);
ok t_cmp($r->{status}, 200, 'the empty cursor echoed, after publishes: status');
ok t_cmp($r->{body}, 'one', 'the empty cursor echoed: the oldest message');

$r = request('GET', "/poll/$ch");
ok t_cmp($r->{status}, 200, 'no cursor: status');
ok t_cmp($r->{body}, 'one', 'no cursor: the oldest message');
$r = request('GET', "/poll/$ch", headers => {
    'If-Modified-Since' => $r->{headers}{'last-modified'},
    'If-None-Match' => $r->{headers}{etag} });
ok t_cmp($r->{status}, 200, 'after the first: status');
ok t_cmp($r->{body}, 'two', 'after the first: the second message');
ok t_cmp($r->{headers}{'x-push-message-id'}, $id2, 'after the first: its id');

# At the end: 304 repeating the client's cursor.
my ($lm, $et) = ($r->{headers}{'last-modified'}, $r->{headers}{etag});
$t = time;
$r = request('GET', "/poll/$ch", headers => {
    'If-Modified-Since' => $lm, 'If-None-Match' => $et });
ok t_cmp($r->{status}, 304, 'at the end: status');
ok t_num(time - $t, '<', 2, 'at the end: seconds to answer');
ok t_cmp($r->{headers}{'last-modified'}, $lm, '304: the cursor\'s Last-Modified');
ok t_cmp($r->{headers}{etag}, $et, '304: the cursor\'s Etag');
$r = request('GET', "/poll/$ch", headers => { 'Last-Event-ID' => $id2 });
ok t_cmp($r->{status}, 304, 'at the end by Last-Event-ID: status');

# Bad cursors are still 400.
ok t_cmp(request('GET', "/poll/$ch", headers => { 'Last-Event-ID' => 'x' })->{status},
         400, 'a malformed Last-Event-ID');

# Short polls are not counted as waiting subscribers afterwards.
ok t_cmp(json(request('GET', "/pub/$ch")->{body})->{subscribers}, 0,
         'subscribers after the short polls');
