# PushSubscribeRequest / PushUnsubscribeRequest (nchan's
# nchan_subscribe_request / nchan_unsubscribe_request): the application,
# behind mod_proxy, is told when a streaming subscriber arrives and when
# it leaves, however it leaves (the client closes, the channel is
# deleted), with the client's cookies, the channel(s), the transport and
# where the subscriber is.  Its answers never reach the client.  Polls
# are not told, as in nchan.  Under the event MPM the streams are parked,
# and a parked one's departure is told from a worker, never the loop.
use strict;
use warnings FATAL => 'all';
use Apache::Test;
use Apache::TestUtil;
use PushTest;
use PushWS;
use PushApp;
use Time::HiRes qw(time sleep);

plan tests => 19, need_module 'proxy_http';

my $mpm = Apache::Test::config()->{server}{mpm} || '';
my $log = Apache::Test::config()->{vars}{t_logs} . '/presenceapp.log';
unlink $log;

my $app = PushApp->start('/presenceapp/', sub {
    my ($c, $req) = @_;
    my %h = %{ $req->{headers} };
    my @chans = $req->{head} =~ /^X-Push-Channel-Id:\s*(.*?)\r?$/mgi;
    if (open my $lf, '>>', $log) {
        print $lf join("\t", $req->{path}, join(',', @chans), $h{'x-push-subscriber-type'} // '',
                       $h{'x-push-message-id'} // '', $h{'x-push-presence'} // '',
                       $h{cookie} // ''), "\n";
        close $lf;
    }
    # A slow application: it takes its time over these departures.
    sleep 2 if ($h{'x-push-presence'} // '') eq 'leave' && "@chans" =~ /^slow/;
    my $body = "the application's answer\n";
    print $c "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: "
        . length($body) . "\r\nConnection: close\r\n\r\n$body";
});

sub told { open my $fh, '<', $log or return []; [map { chomp; [split /\t/, $_, -1] } <$fh>] }
sub told_about {
    my ($ch, $what) = @_;
    return [grep { $_->[1] eq $ch && $_->[4] eq $what } @{ told() }];
}
# An event stream arrives: told, with its cookie and transport.
my $ch = fresh_channel('pr');
my $es = sse_open("/presence/$ch", headers => { Cookie => 'session=abc' });
ok t_cmp($es->{status}, 200, 'an event stream');
ok t_cmp(wait_for(sub { @{ told_about($ch, 'arrive') } == 1 }, 5), 1, 'its arrival is told, once');
my $a = told_about($ch, 'arrive')->[0] || [];
ok t_cmp([@$a[0, 2, 5]], ['/arrive', 'eventsource', 'session=abc'],
         'to PushSubscribeRequest, with the transport and the client\'s cookie');
my $id = publish($ch, 'hello')->{headers}{'x-push-message-id'};
my $e = sse_data($es, 10);
ok t_cmp($e && $e->{data}, 'hello', "the stream goes on; the application's answer is not in it");

# Under event it is parked.
my @more = map { sse_open("/presence/$ch") } 1 .. 3;
my $parked = 0;
for (1 .. 16) { my $p = push_status()->{child_parked_streams} // 0; $parked = $p if $p > $parked }
ok $mpm eq 'event' ? t_num($parked, '>', 0, 'the streams are parked')
                   : t_cmp($parked, 0, "no stream is parked under $mpm");

# It leaves: told, with the last message it had.
close $es->{sock};
ok t_cmp(wait_for(sub { @{ told_about($ch, 'leave') } == 1 }, 10), 1,
         'the client closes: its departure is told, once');
my $l = told_about($ch, 'leave')->[0] || [];
ok t_cmp([@$l[0, 2, 3]], ['/leave', 'eventsource', $id], 'to PushUnsubscribeRequest, where it was');

# A deleted channel ends the other three: each is told.
request('DELETE', "/pub/$ch");
ok t_cmp(wait_for(sub { @{ told_about($ch, 'leave') } == 4 }, 10), 1,
         'the channel is deleted: the three others leave, each told');
close $_->{sock} for @more;

# A WebSocket.
my $wch = fresh_channel('prw');
my $ws = ws_connect("/presence/$wch");
ok t_cmp($ws && $ws->{status}, 101, 'a WebSocket');
ok t_cmp(wait_for(sub { @{ told_about($wch, 'arrive') } == 1 }, 5), 1, 'its arrival is told');
ok t_cmp((told_about($wch, 'arrive')->[0] || [])->[2], 'websocket', 'as a websocket');
close $ws->{sock};
ok t_cmp(wait_for(sub { @{ told_about($wch, 'leave') } == 1 }, 10), 1, 'it vanishes: told');

# Ended by the server (its channel deleted), a WebSocket whose client
# does not answer the Close is let go soon, its departure told.
my $dch = fresh_channel('prd');
my $dws = ws_connect("/presence/$dch");
wait_for(sub { @{ told_about($dch, 'arrive') } == 1 }, 5);
request('DELETE', "/pub/$dch");
my $dc = ws_recv_data($dws, 10);
ok t_cmp([$dc && $dc->{opcode}, $dc ? (ws_close_payload($dc->{payload}))[0] : undef,
          ws_eof($dws, 8) ? 'closed' : 'still open'], [8, 1000, 'closed'],
         'a deleted channel: Close 1000, then the connection ends within 8 s');
ok t_cmp(wait_for(sub { @{ told_about($dch, 'leave') } == 1 }, 10), 1, 'and its departure is told');

# Long polls are not told.
my $pch = fresh_channel('prp');
publish($pch, 'x');
my $p = request('GET', "/presence/$pch", timeout => 5);
sleep 0.5;
ok t_cmp([$p->{status}, scalar(grep { $_->[1] eq $pch } @{ told() })], [200, 0],
         'a long poll: nothing told');

# A multiplexed subscriber: every channel, in one request each way.
my ($ma, $mb) = (fresh_channel('prma'), fresh_channel('prmb'));
my $mx = sse_open("/presencemux/$ma/$mb");
ok t_cmp(wait_for(sub { @{ told_about("$ma,$mb", 'arrive') } == 1 }, 5), 1,
         'a multiplexed stream: one arrival, naming both channels');
close $mx->{sock};
ok t_cmp(wait_for(sub { @{ told_about("$ma,$mb", 'leave') } == 1 }, 10), 1,
         'and one departure');

# An application slow to hear of a departure holds up no other stream:
# while it takes 2 s over one, the others get a message at once.
my $slow = 'slow' . fresh_channel('prs');
my $fast = fresh_channel('prf');
my $gone = sse_open("/presence/$slow");
my @others = map { sse_open("/presence/$fast") } 1 .. 4;
wait_for(sub { @{ told_about($fast, 'arrive') } == 4 && @{ told_about($slow, 'arrive') } == 1 }, 10);
close $gone->{sock};
sleep 0.3;
my $t0 = time;
publish($fast, 'meanwhile');
my @m = map { my $e = sse_data($_, 10); $e ? $e->{data} : 'none' } @others;
my $took = time - $t0;
ok t_cmp([@m], [('meanwhile') x 4], 'while the application is slow, the other streams get their message');
ok t_num($took, '<', 1.5, 'within 1.5 s (the application takes 2 s)');
close $_->{sock} for @others;
