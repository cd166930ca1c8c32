# PushRedis on a Redis Cluster: three masters with a replica each (a
# real redis-server cluster started here on private ports), two servers
# (one under this suite's MPM, one under another) naming three seed nodes.
# Channels spread over the masters; what is published on A reaches
# event streams, WebSockets and long polls on B, once, in order, with
# its id; counts and DELETE act on the shared channel.  A master killed
# -9: its replica takes over, publishes work again (503 meanwhile, in
# time), the subscribers stay and get what comes after, and what was
# acknowledged before is still there.  The node B's bridge listens on
# gone: it listens on another, and what was published meanwhile comes.
use strict;
use warnings FATAL => 'all';
use Apache::Test;
use Apache::TestUtil;
use PushTest;
use PushServer;
use PushRedis;
use PushWS;
use Time::HiRes qw(time sleep);

plan tests => 22, need PushRedis::need();

$SIG{PIPE} = 'IGNORE';

my $cluster = PushRedis->cluster or die "the Redis Cluster did not start";
my $conf = PushRedis::server_conf($cluster->urls);
my $other = PushServer::other_mpm();
my $A = PushServer::start(conf => $conf);
my $B = PushServer::start(conf => $conf, mpm => $other);
ok t_cmp(($A ? 1 : 0) + ($B ? 1 : 0), 2, "two servers on the cluster started (B under $other)");
my ($pa, $pb) = ($A->{port}, $B->{port});

# B's subscriber of $ch is followed: some node has a pub/sub subscriber.
sub followed {
    my ($ch) = @_;
    return wait_for(sub {
        my $n = 0;
        for my $node (grep { $_->{pid} } $cluster->nodes) {
            $n += $1 if ($node->cli('PUBSUB', 'NUMSUB', "push:{c:$ch}") // '') =~ /\n(\d+)$/;
        }
        $n >= 1 }, 10);
}

# --- three channels, one on each master ---------------------------------

my (%on, @chans);
for my $i (0 .. 200) {
    my $ch = fresh_channel("c$i");
    my $m = $cluster->master_of($ch) or next;
    next if $on{$m->{port}}++;
    push @chans, $ch;
    last if @chans == 3;
}
ok t_cmp(scalar(@chans), 3, 'three channels, each on another master');

my @es = map { sse_open("/sub/$_", port => $pb) } @chans;
my $ws = ws_connect("/sub/$chans[0]", port => $pb);
ok t_cmp(join(',', map { $_ && $_->{status} } @es, $ws), '200,200,200,101', 'event streams and a WebSocket on B');
ok t_true((grep { followed($_) } @chans) == 3, "B's bridge follows the three");
my $lp = start_request('GET', "/sub/$chans[1]", port => $pb);
sleep 0.3;

my (@ids, @want);
for my $i (0 .. 2) {
    for my $k (1 .. 3) {
        my $p = publish_at($pa, $chans[$i], "m$i.$k");
        push @{ $ids[$i] }, $p->{id};
        die "publish on A: $p->{status} $p->{body}" unless $p->{status} =~ /^20[12]$/;
    }
}
for my $i (0 .. 2) {
    my @got = sse_upto($es[$i], 3, 10);
    ok t_cmp(join(',', map { "$_->[0] $_->[1]" } @got),
             join(',', map { "$ids[$i][$_ - 1] m$i.$_" } 1 .. 3),
             "channel $i (master :" . $cluster->master_of($chans[$i])->{port} . "): B's event stream has A's three, in order, with A's ids");
}
my @wgot;
while (@wgot < 3) {
    my $f = ws_recv_data($ws, 10) or last;
    push @wgot, $f->{payload} if $f->{opcode} == 1;
}
ok t_cmp(join(',', @wgot), 'm0.1,m0.2,m0.3', 'the WebSocket on B too');
my $lr = read_response($lp, 10);
ok t_cmp($lr ? "$lr->{status} $lr->{body}" : 'nothing', '200 m1.1', 'the long poll on B too');

# --- counts and DELETE across servers -------------------------------------

my $info = request('GET', "/pub/$chans[2]", port => $pa, headers => { Accept => 'application/json' });
ok t_cmp($info && $info->{status} == 200 ? json($info->{body})->{subscribers} : 'none', 1,
         "channel info on A counts B's subscriber");
my $d = request('DELETE', "/pub/$chans[2]", port => $pa, headers => { Accept => 'application/json' });
ok t_cmp($d ? $d->{status} : 0, 200, 'DELETE on A');
ok t_cmp($d && $d->{status} == 200 ? json($d->{body})->{subscribers} : 'none', 1,
         "DELETE on A counts the subscriber it ends on B");
ok t_true(sse_closed($es[2], 5), "B's event stream of the deleted channel ends");

# --- a master killed -9 ---------------------------------------------------

my $victim = $cluster->master_of($chans[0]);
# What came before reached the replica (Redis' replication is
# asynchronous: only what a replica has outlives its master).
ok t_cmp($victim->cli('WAIT', 1, 5000), qr/^[1-9]/, "the master's replica has what it acknowledged");
$victim->stop('KILL');
my ($p, @refused) = (undef);
my $t0 = time;
while (time - $t0 < 20) {
    $p = publish_at($pa, $chans[0], 'after the failover');
    last if $p->{status} =~ /^20[12]$/;
    push @refused, sprintf '%d in %.1f s', $p->{status}, $p->{took};
    sleep 0.2;
}
ok t_cmp($p->{status}, qr/^20[12]$/, 'master killed: publishing works again once its replica took over');
ok t_cmp(join(', ', grep { !/^503 in [01]\./ } @refused), '',
         'meanwhile every refused publish was a 503 within 2 s (PushRedisTimeout 500 ms; ' . scalar(@refused) . ' refused)');
my @g = sse_upto($es[0], 1, 15);
ok t_cmp(@g ? "$g[0][0] $g[0][1]" : 'nothing', "$p->{id} after the failover",
         "B's event stream, still open, gets what came after");
my $all = sse_open("/sub/$chans[0]", port => $pb, headers => { 'Last-Event-ID' => '0:0' });
ok t_cmp(join(',', map { $_->[1] } sse_upto($all, 4, 10)), 'm0.1,m0.2,m0.3,after the failover',
         'everything acknowledged before the kill is still there, then what came after');
close $all->{sock} if $all;
my @o = sse_upto($es[1], 1, 0.5);
ok t_cmp(scalar(@o), 0, 'the other channel: nothing more, nothing twice');

# --- the node B's bridge listens on, gone ------------------------------

# Killed -9 when the cluster can do without it; else (the last copy of
# its slots since the failover above) its pub/sub clients are killed.
my ($listen) = grep {
    $_->{pid} && ($_->cli('PUBSUB', 'NUMSUB', "push:{c:$chans[1]}") // '') =~ /\n(\d+)$/ && $1 >= 1
} $cluster->nodes;
ok t_true($listen, "B's bridge listens on a node (" . ($listen ? $listen->{port} : 'none') . ')');
my $how = 'none';
if ($listen && $cluster->replaceable($listen)) {
    $listen->stop('KILL');
    $how = "node :$listen->{port} killed -9";
}
elsif ($listen) {
    $listen->cli('CLIENT', 'KILL', 'TYPE', 'pubsub');
    $how = "the pub/sub clients of node :$listen->{port} killed";
}
my $q;
$t0 = time;
while (time - $t0 < 20) {
    $q = publish_at($pa, $chans[1], 'while it listened nowhere');
    last if $q->{status} =~ /^20[12]$/;
    sleep 0.2;
}
ok t_true(followed($chans[1]), "B's bridge listens again on a node that is up ($how)");
my @l = sse_upto($es[1], 1, 15);
ok t_cmp(@l ? "$l[0][0] $l[0][1]" : 'nothing', "$q->{id} while it listened nowhere",
         "B's event stream gets what was published while its bridge listened nowhere ($how)");

close $_->{sock} for grep { $_ } @es, $ws;
t_debug("A: $_") for $A->log_lines(qr/push|Redis/);
t_debug("B: $_") for $B->log_lines(qr/push|Redis/);
$A->stop;
$B->stop;
