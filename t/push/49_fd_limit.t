# The descriptor limit (ulimit -n) against what the MPM admits: a child
# whose soft limit is too low for its subscribers is raised to what they
# need when the hard limit allows (said at startup); when it does not,
# the startup log says so, with the numbers, and subscribers beyond what
# the descriptors hold are refused with 503 while the server goes on
# answering everything else (without the check its listener runs out
# of descriptors and stops accepting).  Private event-MPM servers, one
# child of 16 threads admitting hundreds of parked subscribers.
use strict;
use warnings FATAL => 'all';
use Apache::Test;
use Apache::TestUtil;
use PushTest;
use PushServer;
use Time::HiRes qw(time sleep);

plan tests => 8, need { 'prlimit (util-linux) is not installed' => scalar(grep { -x "$_/prlimit" } split /:/, "$ENV{PATH}:/usr/bin") };

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
my ($st, $open) = $low ? open_streams($low->{port}, fresh_channel('fd'), $holds + 20) : ({}, []);
# The child counts its own open descriptors, a few more than the
# parent's estimate.
my $taken = scalar(@$open);
ok t_true($taken <= $holds && $taken >= $holds - 8,
          "about as many event streams as it said it holds are taken ($taken of $holds)");
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
