# PushRedis over TLS (rediss://): a real redis-server listening for TLS
# only, asking for a client certificate, and two servers sharing it (one
# under this suite's MPM, one under another), each with the CA and a
# client certificate.  Published on A, a message reaches an event
# stream, a WebSocket and a long poll on B, in order, with A's ids (the
# bridge's pub/sub connection and every publish over TLS); counts cross
# servers; a killed pub/sub connection reconnects over TLS and misses
# nothing.  A server that does not trust Redis' certificate answers a
# publish 503 saying why, and logs it.
use strict;
use warnings FATAL => 'all';
use Apache::Test;
use Apache::TestUtil;
use PushTest;
use PushServer;
use PushRedis;
use PushWS;

plan tests => 15, need PushRedis::need();

$SIG{PIPE} = 'IGNORE';

my $redis = PushRedis->start(tls => 1) or die "redis-server with TLS did not start";
my $conf = PushRedis::server_conf($redis->url) . $redis->tls_conf;
my $A = PushServer::start(conf => $conf);
my $other = PushServer::other_mpm();
my $B = PushServer::start(conf => $conf, mpm => $other);
ok t_cmp(($A ? 1 : 0) + ($B ? 1 : 0), 2, "two servers on " . $redis->url . " started (B under $other)");
my ($pa, $pb) = ($A->{port}, $B->{port});

sub followed {
    my ($ch) = @_;
    return wait_for(sub { ($redis->cli('PUBSUB', 'NUMSUB', "push:{c:$ch}") // '') =~ /\n(\d+)$/ && $1 >= 1 }, 10);
}

# --- fan-out across servers over TLS -------------------------------------

my $ch = fresh_channel('tls');
my $es = sse_open("/sub/$ch", port => $pb);
my $ws = ws_connect("/sub/$ch", port => $pb);
ok t_cmp([$es && $es->{status}, $ws && $ws->{status}], [200, 101], 'event stream and WebSocket on B');
ok t_true(followed($ch), "B's bridge subscribed to the channel over TLS");
my $lp = start_request('GET', "/sub/$ch", port => $pb);
sleep 0.3;
my @ids;
for my $i (1 .. 3) {
    my $p = publish_at($pa, $ch, "m$i");
    die "publish on A: $p->{status} $p->{body}" unless $p->{status} =~ /^20[12]$/;
    push @ids, $p->{id};
}
my @got = sse_upto($es, 3, 10);
ok t_cmp(join(',', map { "$_->[0] $_->[1]" } @got), join(',', map { "$ids[$_] m" . ($_ + 1) } 0 .. 2),
         "event stream on B: A's messages, in order, with A's ids");
my @wgot;
while (@wgot < 3) {
    my $f = ws_recv_data($ws, 10) or last;
    push @wgot, $f->{payload} if $f->{opcode} == 1;
}
ok t_cmp(join(',', @wgot), 'm1,m2,m3', 'WebSocket on B: every message, in order');
my $lr = read_response($lp, 10);
ok t_cmp($lr ? "$lr->{status} $lr->{body}" : 'nothing', '200 m1', 'long poll on B: answered with the first');

# --- counted across servers -----------------------------------------------

# B's bridge writes its counts within 100 ms of a change (the long
# poll just left).
sub info_subs {
    my ($port, $ch) = @_;
    my $r = request('GET', "/pub/$ch", port => $port, headers => { Accept => 'application/json' });
    return $r && $r->{status} == 200 ? json($r->{body})->{subscribers} : "status " . ($r ? $r->{status} : 0);
}
ok t_cmp(wait_for_value(sub { info_subs($pa, $ch) }, 2, 10), 2, "channel info on A counts B's two subscribers");
my $pc = publish_at($pa, $ch, 'counted');
ok t_cmp("$pc->{status} " . ($pc->{body} =~ /"subscribers":\s*(\d+)/ ? $1 : '?'), '201 2',
         "a publish on A counts B's two subscribers through Redis");
sse_upto($es, 1, 5);
ws_recv_data($ws, 5);

# --- a killed pub/sub connection reconnects over TLS ----------------------

ok t_cmp($redis->cli('CLIENT', 'KILL', 'TYPE', 'pubsub'), qr/^[1-9]/, 'CLIENT KILL TYPE pubsub killed the bridge connection');
my $k = publish_at($pa, $ch, 'after kill');
my @k = sse_upto($es, 1, 15);
ok t_cmp(@k ? "$k[0][0] $k[0][1]" : 'nothing', "$k->{id} after kill", 'after the kill: nothing missed');
ok t_cmp(scalar(sse_upto($es, 1, 0.5)), 0, 'event stream on B: nothing twice');

# --- a certificate not trusted ---------------------------------------------

(my $wrong = $conf) =~ s/ca\.crt/other.crt/;
my $C = PushServer::start(conf => $wrong);
ok t_true($C, 'a server trusting another CA starts (its files are good)');
my $pw = $C ? publish_at($C->{port}, $ch, 'refused') : { status => 0, body => '', type => '' };
ok t_cmp($pw->{status}, 503, "a publish through a Redis whose certificate it does not trust: 503");
ok t_cmp("$pw->{type} | $pw->{body}", qr{^text/plain\b.*\| .*Redis}s, 'the answer says Redis did not take it, in plain text');
ok t_cmp(($C ? $C->log_lines(qr/certificate was refused/) : ())[0] // 'no such line', qr/TLS certificate was refused: /,
         'the error log says why: the certificate was refused');

close $_->{sock} for grep { $_ } $es, $ws;
t_debug("A: $_") for $A->log_lines(qr/push|Redis/);
t_debug("B: $_") for $B->log_lines(qr/push|Redis/);
$C->stop if $C;
$A->stop;
$B->stop;
