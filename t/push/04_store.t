# The shared store: buffer length, expiry, concurrent publishers, status.
use strict;
use warnings FATAL => 'all';
use Apache::Test;
use Apache::TestUtil;
use PushTest;
use Time::HiRes qw(time sleep);

plan tests => 26;

# --- Buffer length: a channel keeps its last PushMessageBufferLength. ---
my $ch = fresh_channel('buf');
my @ids = map { json(request('POST', "/pubsmall/$ch", body => "b$_")->{body})
                    ->{last_message_id} } 1 .. 7;
my $r = request('GET', "/pub/$ch");
ok json($r->{body})->{messages} == 3;
$r = request('GET', "/sub/$ch");
ok $r->{body} eq 'b5' && !exists $r->{headers}{'x-push-gap'};
$r = request('GET', "/sub/$ch", headers => { 'Last-Event-ID' => $ids[0] });
ok $r->{body} eq 'b5' && $r->{headers}{'x-push-gap'} eq $ids[3];

# Inherited settings: /pubsmall/inner keeps length 3 but limits size 2K.
my $ich = fresh_channel('inherit');
request('POST', "/pubsmall/inner/$ich", body => "i$_") for 1 .. 5;
ok json(request('GET', "/pub/$ich")->{body})->{messages} == 3;
ok request('POST', "/pubsmall/inner/$ich", body => 'x' x 2049)->{status} == 413;
ok request('POST', "/pubsmall/$ich", body => 'x' x 2049)->{status} == 202;

# --- Expiry after PushMessageTimeout (2 s here). ---
my $before = push_status();
my $ech = fresh_channel('expire');
my $eid = json(request('POST', "/pubsmall/$ech", body => 'short-lived')->{body})
    ->{last_message_id};
ok request('GET', "/sub/$ech")->{body} eq 'short-lived';
sleep 3.2;
ok request('GET', "/pub/$ech")->{status} == 404;
my $after = push_status();
ok $after->{expired} >= $before->{expired} + 1;
# A poll from before the expiry learns it missed something.
my $nid = json(request('POST', "/pubsmall/$ech", body => 'later')->{body})
    ->{last_message_id};
$r = request('GET', "/sub/$ech", headers => { 'Last-Event-ID' => '1:0' });
ok $r->{body} eq 'later';
ok $r->{headers}{'x-push-gap'} eq $eid;

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
ok $child_fail == 0;
ok json(request('GET', "/pub/$cch")->{body})->{messages} == $procs * $each;

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
ok scalar(keys %bodies) == $procs * $each;
ok !grep { $_ > 1 } values %idseen;
my $increasing = 1;
for my $i (1 .. $#order) {
    my ($a, $b) = ($order[$i - 1], $order[$i]);
    $increasing = 0 unless $b->[0] > $a->[0]
        || ($b->[0] == $a->[0] && $b->[1] > $a->[1]);
}
ok $increasing;
# Each publisher's own messages arrive in the order it sent them.
my $per_pub_order = 1;
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
    $per_pub_order = 0 if defined $last{$p} && $i != $last{$p} + 1;
    $last{$p} = $i;
}
ok $per_pub_order;

# --- push-status ---
my $st = push_status();
for my $k (qw(channels messages published evicted expired
              store_bytes_used store_bytes_total)) {
    ok defined $st->{$k} || die "status lacks $k";
}
ok $st->{store_bytes_total} == 4 * 1024 * 1024;
my $pc = $st->{published};
publish(fresh_channel('count'), 'one');
ok push_status()->{published} == $pc + 1;
