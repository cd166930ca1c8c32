# The descriptor limit (ulimit -n) against what the MPM admits: a child
# whose soft limit is too low for its subscribers is raised to what they
# need when the hard limit allows (said at startup); when it does not,
# the startup log says so, with the numbers, and subscribers beyond what
# the descriptors hold are refused with 503 while the server goes on
# answering everything else (without the check its listener runs out
# of descriptors and stops accepting).  Private event-MPM servers, one
# child of 16 threads admitting hundreds of parked subscribers; then
# worker-MPM ones, where PushMaxSubscribersPerChild caps what the
# descriptors must hold.
use strict;
use warnings FATAL => 'all';
use Apache::Test;
use Apache::TestUtil;
use PushTest;
use PushServer;
use Time::HiRes qw(time sleep);

plan tests => 14, need { 'prlimit (util-linux) is not installed' => scalar(grep { -x "$_/prlimit" } split /:/, "$ENV{PATH}:/usr/bin") };

$SIG{PIPE} = 'IGNORE';

my $conf = <<'CONF';
<IfModule mpm_event_module>
    ServerLimit              1
    StartServers             1
    ThreadLimit              16
    ThreadsPerChild          16
    MinSpareThreads          1
    MaxSpareThreads          16
    MaxRequestWorkers        16
    AsyncRequestWorkerFactor 40
</IfModule>
KeepAlive On
CONF

# Opens $n event streams; the statuses, and the streams that got 200.
sub open_streams {
    my ($port, $ch, $n) = @_;
    my (%st, @open);
    for (1 .. $n) {
        my $c = sse_open("/sub/$ch", port => $port, timeout => 5);
        my $s = $c ? $c->{status} : 'none';
        $st{$s}++;
        push @open, $c if $c && $s == 200;
        close $c->{sock} if $c && $s != 200;
    }
    return (\%st, \@open);
}

# --- the hard limit too low: said, and kept within --------------------

my $low = PushServer::start(mpm => 'event', conf => $conf, nofile => '160:160');
ok t_true($low, 'a server with ulimit -n 160 (hard 160) started');
my @warn = $low ? $low->log_lines(qr/descriptor limit/) : ();
ok t_cmp(join('', @warn), qr/ulimit -n 160, hard 160\) holds \d+ subscribers, fewer than the \d+ this MPM sizing admits/,
         'the startup log says the descriptor limit holds fewer subscribers than the MPM admits');
my ($holds) = join('', @warn) =~ /holds (\d+) subscribers/;
$holds //= 0;
ok t_true($holds > 0, "the number it holds is given ($holds)");
my ($st, $open) = $low ? open_streams($low->{port}, fresh_channel('fd'), $holds + 20) : ({}, []);
# The child keeps the parent's count: as many as the log says.
my $taken = scalar(@$open);
ok t_cmp($taken, $holds, 'event streams taken: as many as the startup log said it holds');
ok t_cmp(join(' ', map { "$_:$st->{$_}" } sort keys %$st), "200:$taken 503:" . ($holds + 20 - $taken),
         'the ones beyond are refused with 503, none hang');
my $page = $low ? request('GET', '/static.txt', port => $low->{port}) : undef;
ok t_cmp($page ? "$page->{status} $page->{body}" : 'nothing', "200 plain page\n",
         'with every descriptor it can spare held, the server still answers a page');
my $pub = $low ? request('POST', '/pub/' . fresh_channel('fd-pub'), port => $low->{port}, body => 'x') : undef;
ok t_cmp($pub ? $pub->{status} : 0, qr/^20[12]$/, 'and a publish');
close $_->{sock} for @$open;
$low->stop if $low;

# --- a hard limit that allows it: raised -------------------------------

my $high = PushServer::start(mpm => 'event', conf => $conf, nofile => '160:4096');
my @raised = $high ? $high->log_lines(qr/descriptor limit/) : ();
ok t_cmp(join('', @raised), qr/raised the soft descriptor limit \(ulimit -n\) from 160 to \d+/,
         'a soft limit below what the subscribers need is raised toward the hard one, and said');
($st, $open) = $high ? open_streams($high->{port}, fresh_channel('fd-hi'), 200) : ({}, []);
ok t_cmp(join(' ', map { "$_:$st->{$_}" } sort keys %$st), '200:200',
         'then 200 event streams are all taken (more than the soft limit alone held)');
close $_->{sock} for @$open;
$high->stop if $high;

# --- worker: the descriptors need hold only PushMaxSubscribersPerChild -

# One child of 64 threads admits 56 subscribers (8 kept): with 140
# descriptors that is too many (56 + 64 threads + the child's own + the
# parent's), 10 of them are not.
my $wconf = <<'CONF';
<IfModule mpm_worker_module>
    ServerLimit         1
    StartServers        1
    ThreadLimit         64
    ThreadsPerChild     64
    MinSpareThreads     1
    MaxSpareThreads     64
    MaxRequestWorkers   64
</IfModule>
KeepAlive On
CONF
my $uncapped = PushServer::start(mpm => 'worker', conf => $wconf, nofile => '140:140');
ok t_cmp(join('', $uncapped ? $uncapped->log_lines(qr/descriptor limit/) : 'not started'),
         qr/ulimit -n 140, hard 140\) holds \d+ subscribers, fewer than the 56/,
         'worker without a cap: 140 descriptors are said to be too few for 56 subscribers');
$uncapped->stop if $uncapped;

my $capped = PushServer::start(mpm => 'worker', nofile => '140:140',
                               conf => "$wconf\nPushMaxSubscribersPerChild 10\n");
ok t_true($capped, 'a worker server with PushMaxSubscribersPerChild 10 and ulimit -n 140 started');
ok t_cmp(join('', $capped ? $capped->log_lines(qr/descriptor limit/) : ()), '',
         'with the cap, nothing is said of the descriptor limit');
($st, $open) = $capped ? open_streams($capped->{port}, fresh_channel('fd-cap'), 12) : ({}, []);
ok t_cmp(join(' ', map { "$_:$st->{$_}" } sort keys %$st), '200:10 503:2',
         'the cap holds: 10 event streams taken, the next 2 refused with 503');
ok t_cmp(join('', $capped ? $capped->log_lines(qr/refused with 503/) : ()),
         qr/PushMaxSubscribersPerChild raises it/,
         'the refusal names the cap as the limit reached');
close $_->{sock} for @$open;
$capped->stop if $capped;
