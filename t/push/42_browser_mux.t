# nchan's browser client, NchanSubscriber.js (npm nchan 1.0.10), unchanged,
# in headless Chromium on a multiplexed location (/mux/sub/<a>/<b>: one
# subscriber, two channels) over each of its transports.  Per transport:
# both channels' messages once each, in publish order, with multi-channel
# ids; stop(), messages to both channels meanwhile, start(): it resumes
# from its multi-id and gets exactly those; and (websocket, eventsource)
# a new page resuming from a multi-id given as the `id` option.  Skipped
# without Chromium or Node.js, as 13_browser.t is.
use strict;
use warnings FATAL => 'all';
use Apache::Test;
use Apache::TestUtil;
use PushTest;
use PushBrowser;
use JSON::PP ();

my $per_transport = 7;
my @transports = qw(websocket eventsource longpoll);

plan tests => 1 + $per_transport * @transports, need PushBrowser::need();

my $J = JSON::PP->new->utf8->canonical;
my $MULTI_ID = qr/^\d+:(?:\[?-?\d+\]?,)+\[?-?\d+\]?$/;

unless (ok t_cmp(PushBrowser::install_modules(), 1,
                 'npm ci: t/browser/node_modules as locked')) {
    exit 0;
}

sub got_list { @{ ($_[0] && $_[0]{state} && $_[0]{state}{messages}) || [] } }
sub datas { join ' ', map { $_->{data} // '(undef)' } @_ }
sub reply_of {
    my $r = shift;
    return 'no answer' unless $r;
    return ($r->{ev} // '(no event)') . ($r->{ok} ? ' ok' : ' not ok');
}

# Publishes each [channel, body]; returns the bodies.
sub publish_to {
    my @out;
    for (@_) {
        my ($ch, $body) = @$_;
        my $r = publish($ch, $body);
        die "publish to $ch: $r->{status}" unless $r->{status} =~ /^20[12]$/;
        push @out, $body;
    }
    return @out;
}

sub run_transport {
    my ($transport) = @_;
    my ($a, $b) = (fresh_channel("bma-$transport"), fresh_channel("bmb-$transport"));
    my ($d, $ready) = PushBrowser->start(
        script => 'run.mjs', log => "browser-mux-$transport.log",
        args => ['--base', 'http://' . Apache::TestRequest::hostport(),
                 '--transport', $transport, '--channel', $a,
                 '--path', "/mux/sub/$a/$b", '--limit', 40]);
    my $failed = 0;
    my $check = sub {
        my ($got, $want, $name) = @_;
        ok t_cmp($got, $want, "$transport: $name") or $failed++;
    };
    my $r = $ready && $ready->{ev} eq 'ready'
        ? $d->cmd({ cmd => 'open' }, 40) : $ready;
    $check->(reply_of($r), 'connected ok', 'connect');
    unless ($r && $r->{ev} eq 'connected' && $r->{ok}) {
        $d->show_log;
        $d->end;
        ok t_cmp(reply_of($r), 'connected ok', "$transport: needs the connection")
            for 2 .. $per_transport;
        return;
    }
    wait_for(sub { my $s = request('GET', "/pub/$b");
                   $s->{status} == 200 && json($s->{body})->{subscribers} == 1 }, 10);

    my @want = publish_to([$a, 'a1'], [$b, 'b1'], [$b, 'b2'], [$a, 'a2'], [$b, 'b3']);
    $r = $d->cmd({ cmd => 'wait', count => scalar @want, timeout => 10000 });
    my @got = got_list($r);
    $check->(datas(@got), join(' ', @want), "both channels' messages, in publish order");
    $check->(scalar(grep { ($_->{id} // '') =~ $MULTI_ID } @got), scalar @want,
             'each with a multi-channel id');
    t_debug("ids: " . join(' ', map { $_->{id} // '-' } @got));
    my $resume_id = @got >= 3 ? $got[2]{id} : undef;

    $r = $d->cmd({ cmd => 'stop' });
    wait_for(sub { my $s = request('GET', "/pub/$b");
                   $s->{status} == 200 && json($s->{body})->{subscribers} == 0 }, 10);
    push @want, publish_to([$b, 'while stopped b'], [$a, 'while stopped a']);
    $r = $d->cmd({ cmd => 'start' });
    $check->(reply_of($r), 'started ok', 'start again');
    $r = $d->cmd({ cmd => 'wait', count => scalar @want, timeout => 10000 });
    $check->(datas(got_list($r)), join(' ', @want),
             'resumed from its multi-id: what came meanwhile, once');

    if ($transport eq 'longpoll') {
        # As in 13_browser.t: NchanSubscriber's id option on a long poll
        # is an Etag request header, which neither server reads.
        skip('NchanSubscriber longpoll sends the id option as an Etag request header', 1)
            for 1 .. 2;
    }
    else {
        $r = $d->cmd({ cmd => 'open', id => $resume_id // '0:0,0' }, 40);
        $check->(reply_of($r), 'connected ok', 'a new page with a multi-id as its id option');
        my @rest = @want[3 .. $#want];
        $r = $d->cmd({ cmd => 'wait', count => scalar @rest, timeout => 10000 });
        $check->(datas(got_list($r)), join(' ', @rest), 'exactly the messages after it');
    }
    $d->end;
    $d->show_log if $failed;
}

run_transport($_) for @transports;
