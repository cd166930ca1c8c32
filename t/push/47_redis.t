# PushRedis: three servers (two under this suite's MPM, one under
# another) sharing channels through a
# real redis-server started here (private port and directory, appendonly
# with appendfsync always).  Published on one server, a message reaches
# event streams, WebSockets and long polls on the other, once, in order,
# with the id the publisher was given; publishers on both servers make
# one order everyone sees; an id from one server resumes on the other;
# a publish's 201/202 and a channel's info count every server's
# subscribers;
# a DELETE on one server ends the other's subscribers; a Redis that went
# back (lost a tail, or everything) issues no id a server already gave,
# and a server whose copy is ahead of it tells its subscribers of a gap.
# Redis down: a publish is 503 with its reason within PushRedisTimeout,
# subscribers stay, and once Redis is back (kill -9 and restart, nothing
# acknowledged lost) what is published reaches them.  A killed pub/sub
# connection and a killed bridge process miss nothing.
use strict;
use warnings FATAL => 'all';
use Apache::Test;
use Apache::TestUtil;
use PushTest;
use PushServer;
use PushRedis;
use PushWS;
use Time::HiRes qw(time sleep);

plan tests => 50, need PushRedis::need();

$SIG{PIPE} = 'IGNORE';

my $redis = PushRedis->start or die "redis-server did not start";
my $conf = PushRedis::server_conf($redis->url);
my $A = PushServer::start(conf => $conf);
my $B = PushServer::start(conf => $conf);
# A third under another MPM.
my $other = PushServer::other_mpm();
my $C = PushServer::start(conf => $conf, mpm => $other);
ok t_cmp(($A ? 1 : 0) + ($B ? 1 : 0) + ($C ? 1 : 0), 3,
         "three servers with PushRedis started (the third under $other)");
my ($pa, $pb, $pc) = ($A->{port}, $B->{port}, $C->{port});

sub bridge_pid {
    my ($srv) = @_;
    my @l = $srv->log_lines(qr/Redis bridge \(pid \d+\)/);
    return @l ? ($l[-1] =~ /pid (\d+)/)[0] : undef;
}

# Until a subscriber on $srv's channel is followed from Redis.
sub followed {
    my ($ch) = @_;
    return wait_for(sub { ($redis->cli('PUBSUB', 'NUMSUB', "push:{c:$ch}") // '') =~ /\n(\d+)$/ && $1 >= 1 }, 10);
}

# --- fan-out across servers, every transport ---------------------------

my $ch = fresh_channel('fan');
my $es = sse_open("/sub/$ch", port => $pb);
my $ws = ws_connect("/sub/$ch", port => $pb);
ok t_cmp($es && $es->{status}, 200, 'event stream on B');
ok t_cmp($ws && $ws->{status}, 101, 'WebSocket on B');
ok t_true(followed($ch), "B's bridge subscribed to the channel in Redis");
my $lp = start_request('GET', "/sub/$ch", port => $pb);
sleep 0.3;
my @ids;
for my $i (1 .. 5) {
    my $p = publish_at($pa, $ch, "m$i");
    push @ids, $p->{id};
    die "publish on A: $p->{status} $p->{body}" unless $p->{status} =~ /^20[12]$/;
}
ok t_cmp(scalar(grep { defined && /^\d+:\d+$/ } @ids), 5, 'five publishes on A acknowledged, each with an id');
my @got = sse_upto($es, 5, 10);
ok t_cmp(join(',', map { $_->[1] } @got), 'm1,m2,m3,m4,m5', 'event stream on B: every message, in order');
ok t_cmp(join(',', map { $_->[0] } @got), join(',', @ids), "event stream on B: the ids A gave");
my @wgot;
while (@wgot < 5) {
    my $f = ws_recv_data($ws, 10) or last;
    push @wgot, $f->{payload} if $f->{opcode} == 1;
}
ok t_cmp(join(',', @wgot), 'm1,m2,m3,m4,m5', 'WebSocket on B: every message, in order');
my $lr = read_response($lp, 10);
ok t_cmp($lr ? "$lr->{status} $lr->{body}" : 'nothing', '200 m1', 'long poll on B: answered with the first');
ok t_cmp(sse_upto($es, 1, 1), 0, 'event stream on B: nothing twice');

# --- a server under another MPM ------------------------------------------

my $ec = sse_open("/sub/$ch", port => $pc, headers => { 'Last-Event-ID' => $ids[4] });
my $pcm = publish_at($pc, $ch, 'from C');
my @gc = sse_upto($ec, 1, 10);
ok t_cmp(@gc ? "$gc[0][0] $gc[0][1]" : 'nothing', "$pcm->{id} from C",
         "$other server C: its own publish, with the id Redis gave");
@got = sse_upto($es, 1, 10);
ok t_cmp(@got ? "$got[0][0] $got[0][1]" : 'nothing', "$pcm->{id} from C",
         "B gets what C published");

# --- subscribers counted on every server --------------------------------

# A channel's subscribers as server $port's channel info counts them.
sub info_subs {
    my ($port, $ch) = @_;
    my $r = request('GET', "/pub/$ch", port => $port, headers => { Accept => 'application/json' });
    return $r && $r->{status} == 200 ? json($r->{body})->{subscribers} : "status " . ($r ? $r->{status} : 0);
}
my $chn = fresh_channel('count');
my @nb = (sse_open("/sub/$chn", port => $pb), ws_connect("/sub/$chn", port => $pb));
my $nc = sse_open("/sub/$chn", port => $pc);
ok t_cmp(wait_for_value(sub { info_subs($pa, $chn) }, 3, 10), 3,
         "channel info on A counts B's two subscribers and C's one");
my $pn = publish_at($pa, $chn, 'counted');
ok t_cmp("$pn->{status} " . ($pn->{body} =~ /"subscribers":\s*(\d+)/ ? $1 : '?'), '201 3',
         'a publish on A, which has no subscriber of its own: 201, and the 3 elsewhere');
close $_->{sock} for @nb;
ok t_cmp(wait_for_value(sub { info_subs($pa, $chn) }, 1, 10), 1,
         "B's subscribers gone: A counts C's one");
close $nc->{sock};
ok t_cmp(wait_for_value(sub { my $p = publish_at($pa, $chn, 'nobody'); $p->{status} }, 202, 10), 202,
         'every subscriber gone: a publish on A is 202, as on a server alone');

# --- publishers on both servers: one order ------------------------------

my $ch2 = fresh_channel('order');
my $ea = sse_open("/sub/$ch2", port => $pa);
my $eb = sse_open("/sub/$ch2", port => $pb);
followed($ch2);
wait_for(sub { ($redis->cli('PUBSUB', 'NUMSUB', "push:{c:$ch2}") // '') =~ /\n(\d+)$/ && $1 >= 2 }, 10);
my @pubs;
for my $i (1 .. 20) {
    my $p = publish_at($i % 2 ? $pa : $pb, $ch2, "x$i");
    push @pubs, $p->{id} if $p->{status} =~ /^20[12]$/;
}
ok t_cmp(scalar(@pubs), 20, 'twenty publishes, alternately on A and B, acknowledged');
my @ga = sse_upto($ea, 20, 10);
my @gb = sse_upto($eb, 20, 10);
ok t_cmp(join(',', map { $_->[1] } @ga), join(',', map { "x$_" } 1 .. 20), 'A sees them in publish order');
ok t_cmp(join(',', map { $_->[0] } @gb), join(',', map { $_->[0] } @ga), 'B sees the same ids in the same order');
ok t_cmp(join(',', map { $_->[0] } @ga), join(',', @pubs), 'the ids are the ones the publishers were given');

# --- resume on A from an id received on B --------------------------------

my $r = request('GET', "/sub/$ch2", port => $pa, headers => { 'Last-Event-ID' => $gb[9][0] });
ok t_cmp($r ? "$r->{status} $r->{body}" : 'nothing', '200 x11', 'a long poll on A from the 10th id B gave: the 11th');
my $ch3 = fresh_channel('cold');
publish_at($pa, $ch3, "c$_") for 1 .. 3;
my $cold = publish_at($pa, $ch3, 'c4');
my $lp3 = start_request('GET', "/sub/$ch3", port => $pb, headers => { 'Last-Event-ID' => $cold->{id} });
sleep 0.3;
my $c5 = publish_at($pa, $ch3, 'c5');
$r = read_response($lp3, 10);
ok t_cmp($r ? "$r->{status} $r->{body} $r->{headers}{'x-push-message-id'}" : 'nothing',
         "200 c5 $c5->{id}", 'a channel B never followed: a long poll from A\'s last id waits for the next');
$r = request('GET', "/sub/$ch3", port => $pb, headers => { 'Last-Event-ID' => "0:0" });
ok t_cmp($r ? $r->{body} : 'nothing', 'c1', 'on B, from the start: the first message published on A');

# --- DELETE on one server ends the other's subscribers -------------------

my $ch5 = fresh_channel('del');
my $e5 = sse_open("/sub/$ch5", port => $pb);
followed($ch5);
publish_at($pa, $ch5, 'd1');
sse_upto($e5, 1, 5);
my $d = request('DELETE', "/pub/$ch5", port => $pa, headers => { Accept => 'application/json' });
ok t_cmp($d ? "$d->{status} " . json($d->{body})->{subscribers} : 'nothing', '200 1',
         "DELETE on A: 200, counting the subscriber it ends on B");
ok t_true(sse_closed($e5, 5), "DELETE on A: B's event stream ends");
my $i5;
wait_for(sub { $i5 = request('GET', "/pub/$ch5", port => $pb); $i5 && $i5->{status} == 404 }, 5);
ok t_cmp($i5 ? $i5->{status} : 0, 404, 'DELETE on A: the channel is gone on B too');

# --- a Redis that went back ------------------------------------------------

# Events with what they say, "name:data" (name "message" when none).
sub sse_told { map { "$_->[2]:$_->[1]" } sse_upto(@_) }
sub id_after { my ($a, $b) = map { [split /:/] } @_; $a->[0] <=> $b->[0] || $a->[1] <=> $b->[1] }

my $chr = fresh_channel('rewind');
my $er = sse_open("/sub/$chr", port => $pb);
followed($chr);
my @r1 = map { publish_at($pa, $chr, "r$_") } 1 .. 3;
ok t_cmp(join(',', sse_told($er, 3, 10)), 'message:r1,message:r2,message:r3', 'rewind: B has r1..r3');
# A failover that lost a tail: Redis' last id back to r1's, r2 and r3 gone.
my ($t1, $n1) = split /:/, $r1[0]{id};
$redis->cli('HSET', "push:{c:$chr}:m", 'lt', $t1, 'ln', $n1);
$redis->cli('XDEL', "push:{c:$chr}:s", map { s/:/-/r } $r1[1]{id}, $r1[2]{id});
my $r4 = publish_at($pa, $chr, 'r4');
ok t_true(($r4->{id} // '0:0') =~ /:/ && id_after($r4->{id}, $r1[2]{id}) > 0,
          "rewind: A's next id ($r4->{id}) comes after the last it had ($r1[2]{id}), not one given again");
# Redis went back: B cannot know whether Redis issued again, for other
# messages, ids it has (a publisher behind it, meanwhile), so it says
# gap before r4 (Redis left the id after the floor out for that).
ok t_cmp(join(',', map { s/:\d+:\d+$//r } sse_told($er, 2, 10)), 'push-gap,message:r4',
         'rewind: B says gap (Redis went back), then r4');
# Redis restarted without persistence: everything gone.  B's bridge,
# back on its pub/sub connection, finds Redis behind its copy: a gap.
$redis->cli('FLUSHALL');
$redis->cli('CLIENT', 'KILL', 'TYPE', 'pubsub');
my $floor = 'none';
wait_for(sub {
    my ($lt, $ln) = split /\n/, $redis->cli('HMGET', "push:{c:$chr}:m", 'lt', 'ln') // '';
    $floor = "$lt:$ln" if defined $ln && "$lt:$ln" =~ /^\d+:\d+$/;
    $floor ne 'none' }, 10);
ok t_true($floor ne 'none' && id_after($floor, $r4->{id}) > 0,
          "rewind: B's bridge found the channel gone from Redis and set Redis' last id ($floor) past its own ($r4->{id})");
my $r5 = publish_at($pa, $chr, 'r5');
my @g5 = sse_told($er, 2, 10);
ok t_cmp(join(',', map { s/:.*//r } @g5), 'push-gap,message', 'rewind: B says gap, then the next message');
ok t_cmp($g5[1] // 'nothing', 'message:r5', 'rewind: the next message is r5');
ok t_true(id_after($r5->{id}, $r4->{id}) > 0, "rewind: r5's id ($r5->{id}) is after r4's ($r4->{id})");
close $er->{sock};

# --- Redis down: 503 in time, subscribers stay, then everything ----------

my $ch4 = fresh_channel('down');
my $ed = sse_open("/sub/$ch4", port => $pb);
followed($ch4);
my $before = publish_at($pa, $ch4, 'before');
$redis->stop('KILL');
my $p = publish_at($pa, $ch4, 'while down');
ok t_cmp($p->{status}, 503, 'Redis down: a publish is refused with 503');
ok t_cmp($p->{body}, qr/Redis/, 'Redis down: the answer says why');
ok t_cmp("$p->{type}; Retry-After: " . ($p->{retry_after} // 'none'), qr{^text/plain\b.*; Retry-After: 1$},
         'Redis down: the reason is plain text, with Retry-After');
ok t_num($p->{took}, '<', 1.5, 'Redis down: the 503 comes within PushRedisTimeout (500 ms) and a reconnect');
ok t_cmp(scalar(sse_upto($ed, 1, 5)), 1, 'Redis down: the subscriber has what came before');
ok t_true(!sse_closed($ed, 1), 'Redis down: the subscriber stays connected');
ok t_true($redis->run, 'Redis started again (appendfsync always)');
my $after;
wait_for(sub { $after = publish_at($pa, $ch4, 'after'); $after->{status} =~ /^20[12]$/ }, 10);
ok t_cmp($after->{status}, qr/^20[12]$/, 'Redis back: publishing works again');
# Every thread's connection from before the restart is dead: each must
# be found so before its next publish, not fail that publish.
my @again = map { publish_at($pa, "$ch4-x", "again $_")->{status} } 1 .. 12;
ok t_cmp(join(' ', grep { !/^20[12]$/ } @again), '',
         'Redis back: no publish after the first fails on a connection from before the restart');
my @back = sse_upto($ed, 1, 15);
ok t_cmp(@back ? $back[0][1] : 'nothing', 'after', 'Redis back: the subscriber gets what is published, not a lost one');
$r = request('GET', "/sub/$ch4", port => $pa, headers => { 'Last-Event-ID' => '0:0' });
ok t_cmp($r ? "$r->{status} $r->{body} " . ($r->{headers}{'x-push-message-id'} // '') : 'nothing',
         "200 before $before->{id}", 'kill -9 of Redis lost no acknowledged message: the first is still there, same id');

# --- a killed pub/sub connection, a killed bridge -----------------------

$redis->cli('CLIENT', 'KILL', 'TYPE', 'pubsub');
my $k1 = publish_at($pa, $ch4, 'after kill');
my @k = sse_upto($ed, 1, 15);
ok t_cmp(@k ? $k[0][1] : 'nothing', 'after kill', 'CLIENT KILL TYPE pubsub: nothing missed');
my $bpid = bridge_pid($B);
ok t_true($bpid && kill('KILL', $bpid), "B's bridge process killed (-9)");
my $bg = publish_at($pa, $ch4, 'bridge gone');
ok t_cmp($bg->{status}, qr/^20[12]$/, 'a publish while B has no bridge is taken');
@k = sse_upto($ed, 1, 15);
ok t_cmp(@k ? $k[0][1] : 'nothing', 'bridge gone', 'a new bridge brings what was published meanwhile');
ok t_true(wait_for(sub { my $n = bridge_pid($B); $n && $n != $bpid }, 5), 'B started another bridge process');
ok t_cmp(scalar(sse_upto($es, 1, 0.5)) + scalar(sse_upto($eb, 1, 0.5)), 0, 'other streams: nothing more, nothing twice');

close $_->{sock} for grep { $_ } $es, $ws, $ea, $eb, $ed, $e5, $ec;
# What the servers said, for a failure's reader.
t_debug("A: $_") for $A->log_lines(qr/push|Redis/);
t_debug("B: $_") for $B->log_lines(qr/push|Redis/);
$A->stop;
$B->stop;
$C->stop;
$redis->stop;
