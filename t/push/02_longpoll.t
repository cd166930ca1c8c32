# push-subscriber long polling: cursors, waiting, waking, ending.
use strict;
use warnings FATAL => 'all';
use Apache::Test;
use Apache::TestUtil;
use PushTest;
use HTTP::Date qw(time2str);
use Time::HiRes qw(time sleep);

plan tests => 45;

sub sub_count {
    my ($ch) = @_;
    my $r = request('GET', "/pub/$ch");
    return $r->{status} == 200 ? json($r->{body})->{subscribers} : 0;
}

# --- Cursor walk: every message once, in order, by each cursor kind. ---
my $ch = fresh_channel('walk');
my @ids;
for my $i (1 .. 12) {
    push @ids, json(publish($ch, "msg$i")->{body})->{last_message_id};
}

# With no cursor (PushFirstMessage oldest): the oldest.
my $r = request('GET', "/sub/$ch");
ok $r->{status} == 200 && $r->{body} eq 'msg1';
ok $r->{headers}{'x-push-message-id'} eq $ids[0];
my ($t1, $n1) = split /:/, $ids[0];
ok $r->{headers}{'last-modified'} eq time2str($t1);
ok $r->{headers}{etag} eq $n1;
ok !exists $r->{headers}{'x-push-gap'};

# Walk with If-Modified-Since + If-None-Match, the way nchan clients do,
# over one persistent connection.
my $c = conn();
my @got;
my ($lm, $et) = ($r->{headers}{'last-modified'}, $r->{headers}{etag});
for (2 .. 12) {
    start_request('GET', "/sub/$ch", conn => $c,
                  headers => { 'If-Modified-Since' => $lm,
                               'If-None-Match' => $et });
    my $x = read_response($c, 5) or last;
    push @got, $x->{body};
    ($lm, $et) = ($x->{headers}{'last-modified'}, $x->{headers}{etag});
}
ok "@got" eq join ' ', map { "msg$_" } 2 .. 12;

# Walk with Last-Event-ID.
my @walk;
my $cur = $ids[0];
for (2 .. 12) {
    my $x = request('GET', "/sub/$ch", headers => { 'Last-Event-ID' => $cur });
    push @walk, $x->{body};
    $cur = $x->{headers}{'x-push-message-id'};
}
ok "@walk" eq "@got";

# Walk with ?last_event_id=.
@walk = ();
$cur = $ids[0];
for (2 .. 12) {
    my $x = request('GET', "/sub/$ch?last_event_id=$cur");
    push @walk, $x->{body};
    $cur = $x->{headers}{'x-push-message-id'};
}
ok "@walk" eq "@got";

# A quoted, weak etag works too.
$r = request('GET', "/sub/$ch", headers => {
    'If-Modified-Since' => time2str($t1), 'If-None-Match' => qq{W/"$n1"} });
ok $r->{body} eq 'msg2';

# Precedence: If-Modified-Since beats Last-Event-ID beats the query.
$r = request('GET', "/sub/$ch?last_event_id=$ids[5]", headers => {
    'If-Modified-Since' => time2str($t1), 'If-None-Match' => $n1,
    'Last-Event-ID' => $ids[3] });
ok $r->{body} eq 'msg2';
$r = request('GET', "/sub/$ch?last_event_id=$ids[5]",
             headers => { 'Last-Event-ID' => $ids[3] });
ok $r->{body} eq 'msg5';

# --- Malformed cursors: 400 with a reason. ---
for my $bad (['If-Modified-Since' => 'yesterday'],
             ['Last-Event-ID' => '12'], ['Last-Event-ID' => 'a:b'],
             ['Last-Event-ID' => '1:-1'], ['Last-Event-ID' => '1:99999999999']) {
    $r = request('GET', "/sub/$ch", headers => { @$bad });
    ok $r->{status} == 400 && $r->{body} =~ /Malformed/;
}
$r = request('GET', "/sub/$ch", headers => {
    'If-Modified-Since' => time2str($t1), 'If-None-Match' => 'xyz' });
ok $r->{status} == 400;
$r = request('GET', "/sub/$ch?last_event_id=nope");
ok $r->{status} == 400;
ok request('GET', "/sub/bad*channel")->{status} == 400;
$r = request('POST', "/sub/$ch", body => 'x');
ok $r->{status} == 405 && $r->{headers}{allow} =~ /GET/;

# --- Waiting: a long poll at the end of the channel wakes at once. ---
my @lat;
for my $i (1 .. 5) {
    my $w = start_request('GET', "/sub/$ch",
                          headers => { 'Last-Event-ID' => $cur });
    wait_for(sub { sub_count($ch) >= 1 }, 5);
    my $t = time;
    my $p = json(publish($ch, "wake$i")->{body});
    my $x = read_response($w, 5);
    push @lat, time - $t;
    $cur = $x ? $x->{headers}{'x-push-message-id'} : $cur;
    close $w->{sock};
}
@lat = sort { $a <=> $b } @lat;
t_debug("wake-up latency incl. publish round trip: @lat");
ok $lat[2] < 0.1;           # median well under 100 ms
ok $lat[-1] < 1.0;

# A publish answered 201 when the channel has a waiting subscriber.
my $w = start_request('GET', "/sub/$ch", headers => { 'Last-Event-ID' => $cur });
ok wait_for(sub { sub_count($ch) == 1 }, 5);
$r = publish($ch, 'with-sub');
ok $r->{status} == 201;
ok json($r->{body})->{subscribers} == 1;
my $x = read_response($w, 5);
ok $x && $x->{body} eq 'with-sub';
$cur = $x->{headers}{'x-push-message-id'};

# --- 50 waiters, all woken by one publish (several processes). ---
my $fan = fresh_channel('fan');
publish($fan, 'seed');
my $seed = request('GET', "/sub/$fan")->{headers}{'x-push-message-id'};
my @waiters = map {
    start_request('GET', "/sub/$fan", headers => { 'Last-Event-ID' => $seed })
} 1 .. 50;
ok wait_for(sub { sub_count($fan) == 50 }, 10);
my $tp = time;
ok publish($fan, 'to-all')->{status} == 201;
my $all = 0;
for my $wc (@waiters) {
    my $resp = read_response($wc, 10);
    $all++ if $resp && $resp->{status} == 200 && $resp->{body} eq 'to-all';
}
my $fan_time = time - $tp;
t_debug("50 waiters answered in $fan_time s");
ok $all == 50;
ok $fan_time < 5;
close $_->{sock} for @waiters;
ok wait_for(sub { sub_count($fan) == 0 }, 5);

# --- PushFirstMessage newest: no cursor waits for the next message. ---
my $nch = fresh_channel('newest');
publish($nch, 'old');
$w = start_request('GET', "/subnew/$nch");
ok wait_for(sub { sub_count($nch) == 1 }, 5);
publish($nch, 'new');
$x = read_response($w, 5);
ok $x && $x->{body} eq 'new';

# --- PushLongPollTimeout: 304 repeating the cursor. ---
my $tch = fresh_channel('timeout');
publish($tch, 'only');
my $only = request('GET', "/sub/$tch");
my $t0 = time;
$r = request('GET', "/subto/$tch", headers => {
    'If-Modified-Since' => $only->{headers}{'last-modified'},
    'If-None-Match' => $only->{headers}{etag} });
my $took = time - $t0;
ok $r->{status} == 304;
ok $took >= 0.9 && $took < 5;
ok $r->{headers}{etag} eq $only->{headers}{etag};
ok $r->{headers}{'last-modified'} eq $only->{headers}{'last-modified'};

# --- A client that goes away is noticed and uncounted. ---
my $gch = fresh_channel('gone');
publish($gch, 'x');
my $gid = request('GET', "/sub/$gch")->{headers}{'x-push-message-id'};
$w = start_request('GET', "/sub/$gch", headers => { 'Last-Event-ID' => $gid });
ok wait_for(sub { sub_count($gch) == 1 }, 5);
close $w->{sock};
ok wait_for(sub { sub_count($gch) == 0 }, 5);

# --- DELETE ends waiting long polls with 410. ---
my $dch = fresh_channel('del');
publish($dch, 'x');
my $did = request('GET', "/sub/$dch")->{headers}{'x-push-message-id'};
my @dw = map {
    start_request('GET', "/sub/$dch", headers => { 'Last-Event-ID' => $did })
} 1 .. 3;
ok wait_for(sub { sub_count($dch) == 3 }, 5);
ok request('DELETE', "/pub/$dch")->{status} == 200;
my $gone = 0;
for (@dw) {
    my $resp = read_response($_, 5);
    $gone++ if $resp && $resp->{status} == 410;
}
ok $gone == 3;

# --- The cursor older than the buffer is reported, not hidden. ---
my $sch = fresh_channel('small');
my @sid = map { json(request('POST', "/pubsmall/$sch", body => "s$_")->{body})
                    ->{last_message_id} } 1 .. 5;
$r = request('GET', "/sub/$sch", headers => { 'Last-Event-ID' => $sid[0] });
ok $r->{body} eq 's3';                       # buffer length 3
ok $r->{headers}{'x-push-gap'} eq $sid[1];   # s2 was the newest lost
$r = request('GET', "/sub/$sch", headers => { 'Last-Event-ID' => $sid[2] });
ok $r->{body} eq 's4' && !exists $r->{headers}{'x-push-gap'};
