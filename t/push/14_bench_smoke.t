# The benchmark's load generator (bench/pushbench) against the test
# server: 200 subscribers per transport, 3 messages, nothing lost or
# duplicated; then (-Z) 50 event streams and WebSockets over TLS.  Keeps
# the bench tool working (make bench TLS=1 too); timings are not asserted.
use strict;
use warnings FATAL => 'all';
use Apache::Test;
use Apache::TestUtil;
use PushTest;

my $vars = Apache::Test::config()->{vars};
my $bench = "$vars->{t_dir}/../bench/pushbench";
my $ssl = ssl_hostport();
plan tests => 3 * 4 + ($ssl ? 2 * 4 : 0), need { 'bench/pushbench is built (make test builds it)' => -x $bench };

my ($host, $port) = split /:/, PushTest::hostport();
my @runs = map { [$_, 200, ''] } qw(longpoll sse ws);
if ($ssl) {
    my ($ssl_port) = $ssl =~ /:(\d+)$/;
    push @runs, map { [$_, 50, "-Z -e $ssl_port"] } qw(sse ws);
}
for my $run (@runs) {
    my ($t, $n, $more) = @$run;
    my $what = $more ? "$t over TLS" : $t;
    my $out = `$bench -L smoke -t $t -n $n -m 3 -i 100 -p $port -u /sub -U /pub -s /status -w 300 -I 100 -D 10 -C 60 -q $more 2>&1`;
    my $rc = $? >> 8;
    my ($line) = $out =~ /^(RESULT .*)$/m;
    $line ||= '';
    t_debug("$what: $line");
    my %r = map { split /=/, $_, 2 } grep { /=/ } split ' ', $line;
    ok t_cmp($rc, 0, "$what: pushbench exit status");
    ok t_cmp($r{subscribed}, $n, "$what: subscribers connected");
    ok t_cmp($r{delivered}, 3 * $n, "$what: deliveries");
    ok t_cmp(($r{lost} // 'undef') . '/' . ($r{dup} // 'undef'), '0/0',
             "$what: lost/duplicated");
}
