# A server stopped just after many WebSockets closed (cleanly with a
# Close frame, with a FIN, with a reset) stops cleanly: no child dies of
# a signal (AH00052), none has to be killed, and the stop takes seconds,
# not the MPM's give-up time.  Three rounds on a server of its own, with
# the stop at once, after a tenth of a second, and after half a second.
use strict;
use warnings FATAL => 'all';
use Apache::Test;
use Apache::TestUtil;
use PushTest;
use PushServer;
use PushWS;
use IO::Socket::INET;
use Socket qw(SOL_SOCKET SO_LINGER);
use Time::HiRes qw(time sleep);

my $mpm = PushServer::mpm();

# Two children each, sized to hold the clients: under event, either
# child alone holds them all, since httpd 2.4.71's listener may hand one
# child nearly every connection of a burst (no ListenCoresBucketsRatio).
my %sizing = (
    event   => ["ServerLimit 2\nStartServers 2\nThreadsPerChild 25\n"
              . "MaxRequestWorkers 50\nMinSpareThreads 1\nMaxSpareThreads 50\n"
              . "AsyncRequestWorkerFactor 20\n", 300],
    worker  => ["ServerLimit 2\nStartServers 2\nThreadsPerChild 40\n"
              . "MaxRequestWorkers 80\nMinSpareThreads 1\nMaxSpareThreads 80\n", 60],
    prefork => ["StartServers 40\nMinSpareServers 40\nMaxSpareServers 40\n"
              . "MaxRequestWorkers 40\n", 24],
);
my @delays = (0, 0.1, 0.5);

plan tests => 4 * @delays, need { "no sizing for MPM $mpm" => exists $sizing{$mpm} };

my ($conf, $n) = @{ $sizing{$mpm} };

for my $delay (@delays) {
    my $label = "$mpm, stop after ${delay}s";
    my $srv = PushServer::start(conf => "<IfModule mpm_${mpm}_module>\n$conf</IfModule>\n"
                                      . "<Location /sub>\n PushTransports websocket\n</Location>\n");
    my @ws;
    if ($srv) {
        for (1 .. $n) {
            my $sock = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$srv->{port}",
                                             Timeout => 5) or last;
            $sock->autoflush(1);
            my $c = ws_connect('/sub/stop', conn => { sock => $sock, buf => '' },
                               timeout => 5);
            last unless $c && $c->{status} == 101;
            push @ws, $c;
        }
    }
    ok t_cmp(scalar @ws, $n, "$label: WebSockets open");

    # Five messages, each read by every client.
    for my $k (1 .. 5) {
        $srv->ask("POST /pub/stop HTTP/1.1\r\nHost: localhost\r\n"
                . "Content-Length: 2\r\nConnection: close\r\n\r\nm$k", 5) if $srv;
    }
    my $read = 0;
    for my $c (@ws) {
        my $got = 0;
        while ($got < 5) {
            my $f = ws_recv_data($c, 5) or last;
            last if $f->{opcode} == 8;
            $got++;
        }
        $read++ if $got == 5;
    }
    ok t_cmp($read, scalar @ws, "$label: clients that read all five messages");

    # Gone three ways, then the stop.
    my $i = 0;
    for my $c (@ws) {
        my $way = $i++ % 3;
        if ($way == 0) {
            ws_send($c, 8, pack('n', 1000));
        }
        elsif ($way == 2) {
            setsockopt($c->{sock}, SOL_SOCKET, SO_LINGER, pack('ii', 1, 0));
        }
        close $c->{sock};
    }
    sleep $delay;
    my $t0 = time;
    my $stopped = $srv ? $srv->stop : 0;
    my $took = time - $t0;
    ok t_true($stopped && $took < 10,
              "$label: stopped (pid file gone) in under 10 s: "
              . ($stopped ? sprintf('%.1f s', $took) : 'not stopped'));
    my @bad = $srv ? $srv->log_lines(qr/AH00052|exit signal|AH00045|SIGKILL|AH00046/) : ('no server');
    ok t_cmp(join('', @bad), '', "$label: no child died of a signal or had to be killed");
}
