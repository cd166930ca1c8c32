# The shared store: buffer length, expiry, concurrent publishers, status.
use strict;
use warnings FATAL => 'all';
use Apache::Test;
use Apache::TestUtil;
use PushTest;
use Time::HiRes qw(time sleep);

plan tests => 30;

# --- Buffer length: a channel keeps its last PushMessageBufferLength. ---
my $ch = fresh_channel('buf');
my @ids = map { json(request('POST', "/pubsmall/$ch", body => "b$_")->{body})
                    ->{last_message_id} } 1 .. 7;
my $r = request('GET', "/pub/$ch");
ok t_cmp(json($r->{body})->{messages}, 3, 'messages kept of 7 (length 3)');
$r = request('GET', "/sub/$ch");
ok t_cmp($r->{body}, 'b5', 'no cursor: the oldest kept');
ok t_cmp($r ? $r->{headers}{'x-push-gap'} : 'no response', undef,
         'no cursor: no X-Push-Gap');
$r = request('GET', "/sub/$ch", headers => { 'Last-Event-ID' => $ids[0] });
ok t_cmp($r->{body}, 'b5', 'an evicted cursor: the oldest kept');
ok t_cmp($r->{headers}{'x-push-gap'}, $ids[3], 'an evicted cursor: X-Push-Gap (b4)');

# Inherited settings: /pubsmall/inner keeps length 3 but limits size 2K.
my $ich = fresh_channel('inherit');
request('POST', "/pubsmall/inner/$ich", body => "i$_") for 1 .. 5;
ok t_cmp(json(request('GET', "/pub/$ich")->{body})->{messages}, 3,
         'inherited buffer length');
ok t_cmp(request('POST', "/pubsmall/inner/$ich", body => 'x' x 2049)->{status},
         413, 'inner location: its own size limit');
ok t_cmp(request('POST', "/pubsmall/$ich", body => 'x' x 2049)->{status},
         202, 'outer location: no such limit');

# --- Expiry after PushMessageTimeout (2 s here). ---
my $before = push_status();
my $ech = fresh_channel('expire');
my $eid = json(request('POST', "/pubsmall/$ech", body => 'short-lived')->{body})
    ->{last_message_id};
ok t_cmp(request('GET', "/sub/$ech")->{body}, 'short-lived', 'before the expiry');
sleep 3.2;
ok t_cmp(request('GET', "/pub/$ech")->{status}, 404, 'the channel after the expiry');
my $after = push_status();
ok t_num($after->{expired}, '>=', $before->{expired} + 1, 'status: expired');
# A poll from before the expiry learns it missed something.
my $nid = json(request('POST', "/pubsmall/$ech", body => 'later')->{body})
    ->{last_message_id};
$r = request('GET', "/sub/$ech", headers => { 'Last-Event-ID' => '1:0' });
ok t_cmp($r->{body}, 'later', 'a cursor from before the expiry: the next message');
ok t_cmp($r->{headers}{'x-push-gap'}, $eid, 'a cursor from before the expiry: X-Push-Gap');

# --- Concurrent publishers: unique ids, nothing lost. ---
my $cch = fresh_channel('conc');
my ($procs, $each) = (6, 40);
my @pids;
for my $p (1 .. $procs) {
    my $pid = fork;
    die "fork: $!" unless defined $pid;
    if (!$pid) {
        my $bad = 0;
        for my $i (1 .. $each) {
            my $x = request('POST', "/pubhuge/$cch", body => "p$p-$i");
            $bad++ unless $x && $x->{status} =~ /^20[12]$/;
        }
        exit($bad ? 1 : 0);
    }
    push @pids, $pid;
}
my $child_fail = 0;
for (@pids) { waitpid $_, 0; $child_fail++ if $? }
ok t_cmp($child_fail, 0, 'publisher processes that had a publish fail');
ok t_cmp(json(request('GET', "/pub/$cch")->{body})->{messages}, $procs * $each,
         'messages from the concurrent publishers');

# Walk it all with short polls... through the long-poll location.
my (%bodies, %idseen, @order);
my $cur;
for (1 .. $procs * $each) {
    my $x = request('GET', "/sub/$cch",
                    $cur ? (headers => { 'Last-Event-ID' => $cur }) : ());
    last unless $x && $x->{status} == 200;
    $bodies{ $x->{body} }++;
    $cur = $x->{headers}{'x-push-message-id'};
    $idseen{$cur}++;
    push @order, [split /:/, $cur];
}
ok t_cmp(scalar(keys %bodies), $procs * $each, 'distinct bodies walked');
ok t_cmp([grep { $idseen{$_} > 1 } sort keys %idseen], [], 'ids walked twice');
my $disorder = '';
for my $i (1 .. $#order) {
    my ($a, $b) = ($order[$i - 1], $order[$i]);
    $disorder ||= join(':', @$a) . ' then ' . join(':', @$b)
        unless $b->[0] > $a->[0]
            || ($b->[0] == $a->[0] && $b->[1] > $a->[1]);
}
ok t_cmp($disorder, '', 'ids increase along the walk (first pair out of order)');
# Each publisher's own messages arrive in the order it sent them.
my $pub_disorder = '';
my %last;
my @walk_bodies;
# (re-walk to get bodies in order)
$cur = undef;
for (1 .. $procs * $each) {
    my $x = request('GET', "/sub/$cch",
                    $cur ? (headers => { 'Last-Event-ID' => $cur }) : ());
    last unless $x && $x->{status} == 200;
    $cur = $x->{headers}{'x-push-message-id'};
    my ($p, $i) = $x->{body} =~ /^p(\d+)-(\d+)$/;
    $pub_disorder ||= "p$p-$i after p$p-$last{$p}"
        if defined $last{$p} && $i != $last{$p} + 1;
    $last{$p} = $i;
}
ok t_cmp($pub_disorder, '', 'each publisher\'s messages in its order (first out of it)');

# --- push-status ---
my $st = push_status();
for my $k (qw(channels messages published evicted expired
              store_bytes_used store_bytes_total store_bytes_ring)) {
    ok t_cmp(defined $st->{$k} ? 'present' : 'missing', 'present', "status: $k")
        or die "status lacks $k";
}
ok t_cmp($st->{store_bytes_total}, 4 * 1024 * 1024, 'status: store_bytes_total');
ok t_true($st->{store_bytes_ring} > 0.75 * $st->{store_bytes_total}
          && $st->{store_bytes_ring} < $st->{store_bytes_total}
          && $st->{store_bytes_used} <= $st->{store_bytes_ring},
          "status: the ring ($st->{store_bytes_ring}) is most of the segment "
          . "($st->{store_bytes_total}) and holds what is used ($st->{store_bytes_used})");
my $pc = $st->{published};
publish(fresh_channel('count'), 'one');
ok t_cmp(push_status()->{published}, $pc + 1, 'status: published counts a publish');
