# Subscribers never lock the server: on a server of its own with a small
# MPM sizing, mod_push admits as many subscribers as its startup notice
# says, refuses the rest at once with 503 and Retry-After, and a publish,
# push-status and a static file still answer within a second.
use strict;
use warnings FATAL => 'all';
use Apache::Test;
use Apache::TestUtil;
use PushTest;
use PushServer;
use IO::Select;
use Time::HiRes qw(time sleep);

my $mpm = PushServer::mpm();

# What each MPM is given: small, so that a handful of subscribers fill it.
my %sizing = (
    event   => "ServerLimit 1\nStartServers 1\nThreadLimit 8\nThreadsPerChild 8\n"
             . "MaxRequestWorkers 8\nMinSpareThreads 1\nMaxSpareThreads 8\n"
             . "AsyncRequestWorkerFactor 1\n",
    worker  => "ServerLimit 1\nStartServers 1\nThreadLimit 8\nThreadsPerChild 8\n"
             . "MaxRequestWorkers 8\nMinSpareThreads 1\nMaxSpareThreads 8\n",
    prefork => "ServerLimit 8\nStartServers 8\nMinSpareServers 8\n"
             . "MaxSpareServers 8\nMaxRequestWorkers 8\n",
);
# Debian's stock event sizing (mods-available/mpm_event.conf): six
# children of 25 threads, more subscribers than it admits.
my $debian = "StartServers 2\nMinSpareThreads 25\nMaxSpareThreads 75\n"
           . "ThreadLimit 64\nThreadsPerChild 25\nMaxRequestWorkers 150\n"
           . "MaxConnectionsPerChild 0\n";

plan tests => ($mpm eq 'event' ? 18 : 9),
     need { "no sizing for MPM $mpm" => exists $sizing{$mpm} };

# A server of its own with this sizing; `want` event streams opened one
# after the other.  exact: every child starts at once, so the count held
# is the per-child figure of the notice; otherwise connections spread
# unevenly over children, and it is at most the server-wide one.
sub scenario {
    my ($label, $sizing, $want, $exact) = @_;
    my $srv = PushServer::start(conf => "<IfModule mpm_${mpm}_module>\n$sizing</IfModule>\n");
    my $up = $srv ? 1 : 0;
    my $ask = sub { $srv ? $srv->ask(@_) : { status => 0, took => 0, head => '' } };

    my $notice = $srv ? join('', $srv->log_lines(qr/mod_push: admits/)) : '';
    my ($admits, $server_wide) = $notice =~ /admits (\d+)(?:.*?, (\d+) server-wide)?/;
    $server_wide //= $admits;
    t_debug("startup notice: $notice");
    ok t_true($up && defined $admits && $admits > 0,
              "$label: the startup notice says how many subscribers it admits: '$notice'");
    $admits //= 0;

    # Event streams, one after the other, each waiting for its answer.
    my (@held, @refused, @retry);
    for my $i (1 .. $want) {
        my $r = $ask->("GET /sub/adm HTTP/1.1\r\nHost: localhost\r\n"
                    . "Accept: text/event-stream\r\n\r\n", 3);
        if ($r->{status} == 200) {
            push @held, $r->{sock};
        }
        else {
            push @refused, $r->{status};
            push @retry, $r->{head} =~ /^Retry-After: \d+/mi ? 1 : 0;
        }
    }
    t_debug("$label: " . scalar(@held) . " held, " . scalar(@refused) . " refused");
    if ($exact) {
        ok t_cmp(scalar @held, $admits, "$label: subscribers held: as many as the notice says");
    }
    else {
        ok t_true(@held >= 1 && @held <= $server_wide && @held < $want,
                  "$label: subscribers held: " . scalar(@held)
                  . ", from 1 to the $server_wide the notice says, fewer than the $want that came");
    }
    ok t_cmp(join(',', sort { $a <=> $b } keys %{{ map { $_ => 1 } @refused }}), 503,
             "$label: the others are refused with 503");
    ok t_cmp(scalar(grep { $_ } @retry), scalar @refused, "$label: ... each with Retry-After");

    # Everything else still answers, at once.
    my $pub = $ask->("POST /pub/adm HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\n"
                  . "Connection: close\r\n\r\nhello", 5);
    ok t_true($pub->{status} >= 200 && $pub->{status} < 300 && $pub->{took} < 1,
              "$label: a publish answers within a second (status $pub->{status}, "
              . sprintf('%.2fs', $pub->{took}) . ")");
    my $status = $ask->("GET /status HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n", 5);
    ok t_true($status->{status} == 200 && $status->{took} < 1,
              "$label: push-status answers within a second (status $status->{status}, "
              . sprintf('%.2fs', $status->{took}) . ")");
    my $static = $ask->("GET /static.txt HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n", 5);
    ok t_true($static->{status} == 200 && $static->{took} < 1,
              "$label: a static file answers within a second (status $static->{status}, "
              . sprintf('%.2fs', $static->{took}) . ")");

    # The held subscribers got the message.
    my $got = 0;
    for my $s (@held) {
        my $buf = '';
        my $sel = IO::Select->new($s);
        my $t = time;
        while (time - $t < 5 && $buf !~ /data: hello/) {
            last unless $sel->can_read(0.2);
            sysread($s, $buf, 65536, length $buf) or last;
        }
        $got++ if $buf =~ /data: hello/;
    }
    ok t_cmp($got, scalar @held, "$label: every held subscriber got the publish");

    close $_ for @held;
    ok t_true($srv && $srv->stop, "$label: the private server stopped");

}

scenario("$mpm, small", $sizing{$mpm}, 16, 1);
scenario('event, Debian stock sizing', $debian, 450, 0) if $mpm eq 'event';
