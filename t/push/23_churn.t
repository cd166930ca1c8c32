# Churn: subscribers of every transport (long poll, event stream,
# WebSocket) connect, receive and drop (cleanly, by reset, or by
# vanishing), and come back with their cursor, while a publisher runs, on
# a server of its own.  Nothing a publish acknowledged is lost or
# repeated; the server's memory levels off; when the clients are gone its
# descriptors and threads are back where they started.
#
# Short here (SOAK_SECONDS, default 8); `make soak` runs it for longer
# with more clients (SOAK_CLIENTS).
use strict;
use warnings FATAL => 'all';
use Apache::Test;
use Apache::TestUtil;
use PushTest;
use PushServer;
use PushChurn;
use Time::HiRes qw(time sleep);

my $mpm = PushServer::mpm();
my $secs = $ENV{SOAK_SECONDS} || 8;

my $set = PushChurn::setup($mpm);
plan tests => 9, need { "no sizing for MPM $mpm" => $set };

my $clients = $set->{clients};
my $srv = PushServer::start(conf => $set->{conf});

my $base = $srv ? $srv->usage : { fds => -1, threads => -1, rss => 0, procs => 0 };
t_debug("baseline: $base->{procs} processes, $base->{fds} descriptors, "
      . "$base->{threads} threads, $base->{rss} kB");
my $churn = $srv ? PushChurn->new(port => $srv->{port}, channel => 'churn',
                                  clients => $clients, drop_after => $set->{drop_after},
                                  drops => $set->{drops}, interval => $set->{interval}) : undef;
my @rss;
my $peak_conns = 0;
$churn->run($secs, sub {
    my $u = $srv->usage;
    push @rss, $u->{rss};
    $peak_conns = $u->{fds} - $base->{fds} if $u->{fds} - $base->{fds} > $peak_conns;
}) if $churn;
my $lagging = $churn ? $churn->settle(15) : -1;
my $st = $churn ? $churn->stats : {};
my $drops = join ', ', map { "$_ $st->{drops}{$_}" } sort keys %{ $st->{drops} || {} };
t_debug(sprintf "%d clients for %d s: %d published (%d connects retried), %d deliveries, "
        . "%d connections (%s), %d refused, peak %d descriptors over the baseline",
        $clients, $secs, $churn ? $churn->acked : 0, $churn ? $churn->pub_retries : 0,
        $st->{delivered} || 0,
        $st->{connects} || 0, $drops, $st->{refused} || 0, $peak_conns);

ok t_true($churn && $churn->acked >= $secs / $set->{interval} / 2,
          'messages published and acknowledged: ' . ($churn ? $churn->acked : 0));
ok t_cmp($churn ? $churn->pub_errors : -1, 0,
         'publishes that failed: ' . ($churn ? $churn->pub_failures : ''));
ok t_true(($st->{connects} || 0) >= 2 * $clients,
          "connections made by $clients clients (each dropped and came back): "
          . ($st->{connects} || 0) . " ($drops)");
ok t_cmp($lagging, 0, 'clients that did not catch up with the last acknowledged message: '
         . ($churn ? $churn->lag_report : ''));
ok t_cmp($st->{lost}, 0, 'acknowledged messages a resuming client never got');
ok t_cmp(($st->{dup} || 0) + ($st->{gaps} || 0), 0, 'messages repeated, and gap signals');

# Memory levels off: the last third of the run no higher than the middle
# third, give or take a fifth and 4 MB.
my $n = @rss;
my @mid = @rss[int($n / 3) .. int(2 * $n / 3) - 1];
my @last = @rss[int(2 * $n / 3) .. $n - 1];
my ($mid_max) = sort { $b <=> $a } @mid, 0;
my ($last_max) = sort { $b <=> $a } @last, 0;
t_debug("resident kB each second: @rss");
ok t_num($last_max, '<=', $mid_max * 1.2 + 4096,
         "kB resident at the end against the middle of the run ($mid_max)");

$churn->finish if $churn;
my $after;
my $back = PushTest::wait_for(sub {
    $after = $srv->usage;
    $after->{fds} == $base->{fds} && $after->{threads} == $base->{threads};
}, 20);
ok t_cmp($after->{fds}, $base->{fds}, 'descriptors of the server once the clients are gone');
ok t_cmp($after->{threads}, $base->{threads}, 'threads of the server once the clients are gone');
$srv->stop if $srv;
