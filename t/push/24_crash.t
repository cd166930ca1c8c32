# Crashes and restarts under load, on a server of its own with churning
# subscribers of every transport (PushChurn) and a publisher:
#
#  1. kill -9 of a child, four times, while a second publisher floods
#     another channel (so that a child dies holding the store's lock
#     sooner or later) and messages are being delivered: the store stays
#     consistent (it answers, and a new channel works end to end), the
#     other children keep delivering, and every message whose publish got
#     a 2xx reaches every subscriber, which resumes with its cursor;
#  2. graceful restarts in a row under the same load (SOAK_RESTARTS,
#     default 5; `make soak` does 100): nothing lost or repeated, memory
#     flat.
use strict;
use warnings FATAL => 'all';
use Apache::Test;
use Apache::TestUtil;
use PushTest;
use PushServer;
use PushChurn;
use IO::Socket::INET;
use POSIX qw(WNOHANG);
use Time::HiRes qw(time sleep);

my $mpm = PushServer::mpm();
my $restarts = $ENV{SOAK_RESTARTS} || 5;
my $set = PushChurn::setup($mpm);
plan tests => 13, need { "no sizing for MPM $mpm" => $set };

my $clients = int($set->{clients} / 2);
my $srv = PushServer::start(conf => $set->{conf});

# Publishes to `flood` as fast as one keep-alive connection goes, in a
# process of its own, until killed.
sub flooder {
    my $pid = fork;
    return $pid if $pid;
    my $body = 'f' x 200;
    for (;;) {
        my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$srv->{port}", Timeout => 2)
            or do { sleep 0.05; next };
        for (1 .. 90) {
            print $s "POST /pub/flood HTTP/1.1\r\nHost: localhost\r\nContent-Length: 200\r\n\r\n$body"
                or last;
            my $buf = '';
            while ($buf !~ /\r\n\r\n/ || length($buf) - index($buf, "\r\n\r\n") - 4
                   < (($buf =~ /^Content-Length: (\d+)/mi)[0] // 0)) {
                my $n = sysread($s, $buf, 4096, length $buf) or last;
            }
            last unless $buf =~ /^HTTP/;
        }
        close $s;
    }
}

sub report {
    my ($label, $churn, $lagging) = @_;
    my $st = $churn->stats;
    t_debug(sprintf "%s: %d clients, %d published (%d without an answer), %d deliveries, "
            . "%d connections (%d tried again: not connected in 5 s), lost %d, dup %d, "
            . "gaps %d, lagging %d", $label, $clients,
            $churn->acked, $churn->pub_errors, $st->{delivered}, $st->{connects},
            $st->{timeouts} || 0, $st->{lost}, $st->{dup}, $st->{gaps}, $lagging);
}

# ------------------------------------------------------------------
# 1. kill -9

my $churn = $srv ? PushChurn->new(port => $srv->{port}, channel => 'crash',
                                  clients => $clients, drop_after => $set->{drop_after},
                                  drops => $set->{drops}, interval => $set->{interval}) : undef;
my $flood = $srv ? flooder() : undef;
my ($kills, $second) = (0, 0);
$churn->run(8, sub {
    $second++;
    return unless $second >= 2 && $second <= 5;
    my ($ppid, @children) = $srv->pids;
    my $victim = $children[int rand @children] or return;
    $kills += kill 'KILL', $victim;
}) if $churn;
kill 'KILL', $flood if $flood;
waitpid $flood, 0 if $flood;
my $lagging = $churn ? $churn->settle(15) : -1;
report('kill -9', $churn, $lagging) if $churn;
my $st = $churn ? $churn->stats : {};

ok t_cmp($kills, 4, 'children killed with SIGKILL');
ok t_true($churn && $churn->acked >= 5,
          'messages acknowledged around the kills: ' . ($churn ? $churn->acked : 0));
ok t_cmp($lagging, 0, 'subscribers that did not catch up with the last acknowledged message: '
         . ($churn ? $churn->lag_report : ''));
ok t_cmp($st->{lost}, 0, 'acknowledged messages a resuming subscriber never got');
ok t_cmp(($st->{dup} || 0) + ($st->{gaps} || 0), 0, 'messages repeated, and gap signals');

# The store after the kills: it answers, and a new channel works end to
# end (a long poll gets what is published to it).
my $status = $srv ? $srv->ask("GET /status HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n", 5) : {};
ok t_cmp($status->{status}, 200, 'push-status after the kills');
my $poll = IO::Socket::INET->new(PeerAddr => "127.0.0.1:" . ($srv ? $srv->{port} : 1), Timeout => 5);
print $poll "GET /sub/after HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n" if $poll;
sleep 0.3;
my $pub = $srv ? $srv->ask("POST /pub/after HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\n"
                         . "Connection: close\r\n\r\nfresh", 5) : {};
my $answer = '';
if ($poll) {
    my $t = time;
    while (time - $t < 5 && $answer !~ /fresh/) {
        my $n = sysread($poll, $answer, 4096, length $answer) or last;
    }
}
ok t_true($pub->{status} =~ /^20[12]$/ && $answer =~ m{^HTTP/1\.1 200.*fresh$}s,
          "a new channel after the kills: publish $pub->{status}, the long poll got it");
my @crashes = $srv ? $srv->log_lines(qr/exit signal (?!Killed)/) : ();
ok t_cmp(join('', @crashes), '', 'children that died of anything but the kills');
$churn->finish if $churn;

# ------------------------------------------------------------------
# 2. Graceful restarts in a row

$churn = $srv ? PushChurn->new(port => $srv->{port}, channel => 'restart',
                               clients => $clients, drop_after => $set->{drop_after},
                               drops => $set->{drops}, interval => $set->{interval}) : undef;
my ($done, @rss) = (0);
my $started = time;
# One restart every 1.5 s, the memory after each.
$churn->run(1.5 * $restarts + 2, sub {
    return if $done >= $restarts || time - $started < 1.5 * ($done + 1);
    my $parent = $srv->parent_pid or return;   # between pid files
    push @rss, $srv->usage->{rss};
    $done += kill 'USR1', $parent;
}) if $churn;
$lagging = $churn ? $churn->settle(15) : -1;
report("$restarts graceful restarts", $churn, $lagging) if $churn;
$st = $churn ? $churn->stats : {};
my @seen = $srv ? $srv->log_lines(qr/SIGUSR1 received|Graceful restart requested/) : ();

ok t_cmp(scalar @seen, $restarts, 'graceful restarts the server did');
ok t_cmp($lagging, 0, 'subscribers that did not catch up after the restarts: '
         . ($churn ? $churn->lag_report : ''));
ok t_cmp($st->{lost}, 0, 'acknowledged messages lost across the restarts');
ok t_cmp(($st->{dup} || 0) + ($st->{gaps} || 0), 0, 'messages repeated, and gap signals');
# Memory flat: the last third of the restarts no higher than the first
# third, give or take a quarter and 8 MB (old children finishing count).
my $n = @rss;
my ($first) = sort { $b <=> $a } @rss[0 .. int($n / 3)], 0;
my ($last) = sort { $b <=> $a } @rss[int(2 * $n / 3) .. $n - 1], 0;
t_debug("resident kB after each restart: @rss");
ok t_num($last, '<=', $first * 1.25 + 8192,
         "kB resident in the last restarts against the first ($first)");
$churn->finish if $churn;
$srv->stop if $srv;
