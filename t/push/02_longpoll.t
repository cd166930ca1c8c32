# push-subscriber long polling: cursors, waiting, waking, ending.
use strict;
use warnings FATAL => 'all';
use Apache::Test;
use Apache::TestUtil;
use PushTest;
use HTTP::Date qw(time2str);
use Time::HiRes qw(time sleep);

plan tests => 62;

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
ok t_cmp($r->{status}, 200, 'no cursor: status');
ok t_cmp($r->{body}, 'msg1', 'no cursor: the oldest message');
ok t_cmp($r->{headers}{'x-push-message-id'}, $ids[0], 'no cursor: X-Push-Message-Id');
my ($t1, $n1) = split /:/, $ids[0];
ok t_cmp($r->{headers}{'last-modified'}, time2str($t1),
         'Last-Modified is the id\'s time');
ok t_cmp($r->{headers}{etag}, $n1, 'Etag is the id\'s sequence number');
ok t_cmp($r->{headers}{'x-push-gap'}, undef, 'no X-Push-Gap');

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
ok t_cmp("@got", join(' ', map { "msg$_" } 2 .. 12),
         'walk by If-Modified-Since/If-None-Match on one connection');

# Walk with Last-Event-ID.
my @walk;
my $cur = $ids[0];
for (2 .. 12) {
    my $x = request('GET', "/sub/$ch", headers => { 'Last-Event-ID' => $cur });
    push @walk, $x->{body};
    $cur = $x->{headers}{'x-push-message-id'};
}
ok t_cmp("@walk", "@got", 'walk by Last-Event-ID');

# Walk with ?last_event_id=.
@walk = ();
$cur = $ids[0];
for (2 .. 12) {
    my $x = request('GET', "/sub/$ch?last_event_id=$cur");
    push @walk, $x->{body};
    $cur = $x->{headers}{'x-push-message-id'};
}
ok t_cmp("@walk", "@got", 'walk by ?last_event_id=');

# A quoted, weak etag works too.
$r = request('GET', "/sub/$ch", headers => {
    'If-Modified-Since' => time2str($t1), 'If-None-Match' => qq{W/"$n1"} });
ok t_cmp($r->{body}, 'msg2', 'a weak, quoted If-None-Match');

# Precedence: If-Modified-Since beats Last-Event-ID beats the query.
$r = request('GET', "/sub/$ch?last_event_id=$ids[5]", headers => {
    'If-Modified-Since' => time2str($t1), 'If-None-Match' => $n1,
    'Last-Event-ID' => $ids[3] });
ok t_cmp($r->{body}, 'msg2', 'If-Modified-Since beats Last-Event-ID and the query');
$r = request('GET', "/sub/$ch?last_event_id=$ids[5]",
             headers => { 'Last-Event-ID' => $ids[3] });
ok t_cmp($r->{body}, 'msg5', 'Last-Event-ID beats the query');

# --- Malformed cursors: 400 with a reason. ---
for my $bad (['If-Modified-Since' => 'yesterday'],
             ['Last-Event-ID' => '12'], ['Last-Event-ID' => 'a:b'],
             ['Last-Event-ID' => '1:-1'], ['Last-Event-ID' => '1:99999999999']) {
    $r = request('GET', "/sub/$ch", headers => { @$bad });
    ok t_cmp($r->{status}, 400, "$bad->[0]: $bad->[1]: status");
    ok t_cmp($r->{body}, qr/Malformed/, "$bad->[0]: $bad->[1]: reason");
}
$r = request('GET', "/sub/$ch", headers => {
    'If-Modified-Since' => time2str($t1), 'If-None-Match' => 'xyz' });
ok t_cmp($r->{status}, 400, 'If-None-Match: xyz');
$r = request('GET', "/sub/$ch?last_event_id=nope");
ok t_cmp($r->{status}, 400, '?last_event_id=nope');
ok t_cmp(request('GET', "/sub/bad%01channel")->{status}, 400, 'a bad channel id');
$r = request('POST', "/sub/$ch", body => 'x');
ok t_cmp($r->{status}, 405, 'POST to a subscriber: status');
ok t_cmp($r->{headers}{allow}, qr/GET/, 'POST to a subscriber: Allow has GET');

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
ok t_num($lat[2], '<', 0.1, 'median wake-up latency (s)');   # well under 100 ms
ok t_num($lat[-1], '<', 1.0, 'slowest wake-up latency (s)');

# A publish answered 201 when the channel has a waiting subscriber.
my $w = start_request('GET', "/sub/$ch", headers => { 'Last-Event-ID' => $cur });
ok t_cmp(wait_for_value(sub { sub_count($ch) }, 1, 5), 1, 'the waiting long poll is counted');
$r = publish($ch, 'with-sub');
ok t_cmp($r->{status}, 201, 'publish with a waiting subscriber: status');
ok t_cmp(json($r->{body})->{subscribers}, 1, 'publish: subscribers');
my $x = read_response($w, 5);
ok t_cmp($x && $x->{body}, 'with-sub', 'the waiting long poll gets it');
$cur = $x->{headers}{'x-push-message-id'};

# --- 50 waiters, all woken by one publish (several processes). ---
my $fan = fresh_channel('fan');
publish($fan, 'seed');
my $seed = request('GET', "/sub/$fan")->{headers}{'x-push-message-id'};
my @waiters = map {
    start_request('GET', "/sub/$fan", headers => { 'Last-Event-ID' => $seed })
} 1 .. 50;
ok t_cmp(wait_for_value(sub { sub_count($fan) }, 50, 10), 50, 'waiting long polls counted');
my $tp = time;
ok t_cmp(publish($fan, 'to-all')->{status}, 201, 'publish to 50 waiters');
my $all = 0;
for my $wc (@waiters) {
    my $resp = read_response($wc, 10);
    $all++ if $resp && $resp->{status} == 200 && $resp->{body} eq 'to-all';
}
my $fan_time = time - $tp;
t_debug("50 waiters answered in $fan_time s");
ok t_cmp($all, 50, 'waiters answered 200 with the message');
ok t_num($fan_time, '<', 5, 'seconds to answer the 50');
close $_->{sock} for @waiters;
ok t_cmp(wait_for_value(sub { sub_count($fan) }, 0, 5), 0, 'subscribers once they are answered');

# --- PushFirstMessage newest: no cursor waits for the next message. ---
my $nch = fresh_channel('newest');
publish($nch, 'old');
$w = start_request('GET', "/subnew/$nch");
ok t_cmp(wait_for_value(sub { sub_count($nch) }, 1, 5), 1,
         'PushFirstMessage newest: no cursor waits');
publish($nch, 'new');
$x = read_response($w, 5);
ok t_cmp($x && $x->{body}, 'new', 'PushFirstMessage newest: the next message');

# --- PushLongPollTimeout: 304 repeating the cursor. ---
my $tch = fresh_channel('timeout');
publish($tch, 'only');
my $only = request('GET', "/sub/$tch");
my $t0 = time;
$r = request('GET', "/subto/$tch", headers => {
    'If-Modified-Since' => $only->{headers}{'last-modified'},
    'If-None-Match' => $only->{headers}{etag} });
my $took = time - $t0;
ok t_cmp($r->{status}, 304, 'PushLongPollTimeout: status');
ok t_num($took, '>=', 0.9, 'PushLongPollTimeout 1: seconds waited, at least');
ok t_num($took, '<', 5, 'PushLongPollTimeout 1: seconds waited, at most');
ok t_cmp($r->{headers}{etag}, $only->{headers}{etag}, '304: the cursor\'s Etag');
ok t_cmp($r->{headers}{'last-modified'}, $only->{headers}{'last-modified'},
         '304: the cursor\'s Last-Modified');

# --- A client that goes away is noticed and uncounted. ---
my $gch = fresh_channel('gone');
publish($gch, 'x');
my $gid = request('GET', "/sub/$gch")->{headers}{'x-push-message-id'};
$w = start_request('GET', "/sub/$gch", headers => { 'Last-Event-ID' => $gid });
ok t_cmp(wait_for_value(sub { sub_count($gch) }, 1, 5), 1, 'subscribers while it waits');
close $w->{sock};
ok t_cmp(wait_for_value(sub { sub_count($gch) }, 0, 5), 0, 'subscribers once it hung up');

# --- DELETE ends waiting long polls with 410. ---
my $dch = fresh_channel('del');
publish($dch, 'x');
my $did = request('GET', "/sub/$dch")->{headers}{'x-push-message-id'};
my @dw = map {
    start_request('GET', "/sub/$dch", headers => { 'Last-Event-ID' => $did })
} 1 .. 3;
ok t_cmp(wait_for_value(sub { sub_count($dch) }, 3, 5), 3, 'subscribers waiting');
ok t_cmp(request('DELETE', "/pub/$dch")->{status}, 200, 'DELETE with waiters');
my $gone = 0;
for (@dw) {
    my $resp = read_response($_, 5);
    $gone++ if $resp && $resp->{status} == 410;
}
ok t_cmp($gone, 3, 'waiters answered 410');

# --- The cursor older than the buffer is reported, not hidden. ---
my $sch = fresh_channel('small');
my @sid = map { json(request('POST', "/pubsmall/$sch", body => "s$_")->{body})
                    ->{last_message_id} } 1 .. 5;
$r = request('GET', "/sub/$sch", headers => { 'Last-Event-ID' => $sid[0] });
ok t_cmp($r->{body}, 's3', 'cursor older than the buffer: the oldest kept');   # length 3
ok t_cmp($r->{headers}{'x-push-gap'}, $sid[1], 'X-Push-Gap: the newest lost (s2)');
$r = request('GET', "/sub/$sch", headers => { 'Last-Event-ID' => $sid[2] });
ok t_cmp($r->{body}, 's4', 'cursor in the buffer: the next message');
ok t_cmp($r ? $r->{headers}{'x-push-gap'} : 'no response', undef,
         'cursor in the buffer: no X-Push-Gap');

# --- A cursor from the future is the channel's newest, not a dead end. ---
my $fch = fresh_channel('future');
my $fid = json(publish($fch, 'before')->{body})->{last_message_id};
my $fut = int(time() + 10 * 365 * 86400) . ":0";
$w = start_request('GET', "/sub/$fch", headers => { 'Last-Event-ID' => $fut });
sleep 0.3;
publish($fch, 'after');
$x = read_response($w, 5);
ok t_cmp($x ? $x->{status} : 'no response', 200, "cursor $fut (ten years ahead): status");
ok t_cmp($x ? $x->{body} : 'no response', 'after', 'cursor from the future: the next message');
ok t_cmp(json(request('GET', "/pub/$fch")->{body})->{messages}, 2,
         'cursor from the future: the channel kept its messages');

# --- The channel is the one segment below the location. ---
my $pch = fresh_channel('path');
publish($pch, 'p1');
$r = request('GET', "/sub/public/$pch", headers => { 'Last-Event-ID' => '1:0' });
ok t_cmp($r ? $r->{status} : 'no response', 400, "/sub/public/$pch: status");
ok t_cmp($r ? $r->{body} : 'no response', qr/one path segment below \/sub\//,
         '/sub/public/C: the reason');
$r = request('GET', "/sub/private/$pch", headers => { 'Last-Event-ID' => '1:0' });
ok t_cmp($r ? $r->{status} : 'no response', 403,
         '/sub/private/C: its own Require applies');
$r = request('POST', "/pub/x/$pch", body => 'nope');
ok t_cmp($r ? $r->{status} : 'no response', 400, 'a publisher path two segments deep: status');
$r = request('GET', "/sub/$pch", headers => { 'Last-Event-ID' => '1:0' });
ok t_cmp($r ? $r->{body} : 'no response', 'p1', '/sub/C: the channel, as before');
