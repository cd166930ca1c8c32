# Short polling (PushTransports poll): the same answers, at once.
use strict;
use warnings FATAL => 'all';
use Apache::Test;
use Apache::TestUtil;
use PushTest;
use Time::HiRes qw(time);

plan tests => 12;

my $ch = fresh_channel('poll');

# Nothing yet: 304 at once.
my $t = time;
my $r = request('GET', "/poll/$ch");
ok $r->{status} == 304;
ok time - $t < 2;
ok $r->{headers}{etag} eq '0';

my $id1 = json(publish($ch, 'one')->{body})->{last_message_id};
my $id2 = json(publish($ch, 'two')->{body})->{last_message_id};

$r = request('GET', "/poll/$ch");
ok $r->{status} == 200 && $r->{body} eq 'one';
$r = request('GET', "/poll/$ch", headers => {
    'If-Modified-Since' => $r->{headers}{'last-modified'},
    'If-None-Match' => $r->{headers}{etag} });
ok $r->{status} == 200 && $r->{body} eq 'two';
ok $r->{headers}{'x-push-message-id'} eq $id2;

# At the end: 304 repeating the client's cursor.
my ($lm, $et) = ($r->{headers}{'last-modified'}, $r->{headers}{etag});
$t = time;
$r = request('GET', "/poll/$ch", headers => {
    'If-Modified-Since' => $lm, 'If-None-Match' => $et });
ok $r->{status} == 304;
ok time - $t < 2;
ok $r->{headers}{'last-modified'} eq $lm && $r->{headers}{etag} eq $et;
$r = request('GET', "/poll/$ch", headers => { 'Last-Event-ID' => $id2 });
ok $r->{status} == 304;

# Bad cursors are still 400.
ok request('GET', "/poll/$ch", headers => { 'Last-Event-ID' => 'x' })->{status} == 400;

# Short polls are not counted as waiting subscribers afterwards.
ok json(request('GET', "/pub/$ch")->{body})->{subscribers} == 0;
