# The benchmark's load generator (bench/pushbench) against the test
# server: 200 subscribers per transport, 3 messages, nothing lost or
# duplicated.  Keeps the bench tool working; timings are not asserted.
use strict;
use warnings FATAL => 'all';
use Apache::Test;
use Apache::TestUtil;
use PushTest;

my $vars = Apache::Test::config()->{vars};
my $bench = "$vars->{t_dir}/../bench/pushbench";
plan tests => 3 * 4, need { 'bench/pushbench is built (make test builds it)' => -x $bench };

my ($host, $port) = split /:/, PushTest::hostport();
for my $t (qw(longpoll sse ws)) {
    my $out = `$bench -L smoke -t $t -n 200 -m 3 -i 100 -p $port -u /sub -U /pub -s /status -w 300 -I 100 -D 10 -C 60 -q 2>&1`;
    my $rc = $? >> 8;
    my ($line) = $out =~ /^(RESULT .*)$/m;
    $line ||= '';
    t_debug("$t: $line");
    my %r = map { split /=/, $_, 2 } grep { /=/ } split ' ', $line;
    ok t_cmp($rc, 0, "$t: pushbench exit status");
    ok t_cmp($r{subscribed}, 200, "$t: subscribers connected");
    ok t_cmp($r{delivered}, 600, "$t: deliveries");
    ok t_cmp(($r{lost} // 'undef') . '/' . ($r{dup} // 'undef'), '0/0',
             "$t: lost/duplicated");
}
