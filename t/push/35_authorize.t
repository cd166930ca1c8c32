# PushAuthorizeRequest (nchan's nchan_authorize_request): before each
# subscribe (every long poll, every stream) and publish, a subrequest to
# the application, here a small HTTP server this test starts, reached
# through mod_proxy.  It gets the client's headers and cookies and the
# channel (X-Push-Channel-Id, X-Push-Role, X-Original-URI); 2xx allows,
# anything else reaches the client as the application said it.
use strict;
use warnings FATAL => 'all';
use Apache::Test;
use Apache::TestUtil;
use PushTest;
use PushWS;
use PushApp;

plan tests => 12, need_module 'proxy_http';

my $log = Apache::Test::config()->{vars}{t_logs} . '/authapp.log';
unlink $log;

# The application: allows channels "ok-*" (or any with the cookie
# token=good), refuses the rest with its own status, header and body;
# logs what it was asked.
my $app = PushApp->start('/authapp/', sub {
    my ($c, $req) = @_;
    my %h = %{ $req->{headers} };
    my $ch = $h{'x-push-channel-id'} // '';
    if (open my $lf, '>>', $log) {
        print $lf join("\t", $ch, $h{'x-push-role'} // '', $h{'x-original-uri'} // '',
                       $h{'x-original-method'} // '', $h{cookie} // ''), "\n";
        # Closed (flushed) before the answer: a lexical declared in an
        # if's condition may live to the end of the handler, and the test
        # reads the log as soon as it has its answer.
        close $lf;
    }
    if ($ch =~ /^ok-/ || ($h{cookie} // '') =~ /token=good/) {
        print $c "HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n";
    }
    else {
        my $body = "no entry for you\n";
        print $c "HTTP/1.1 403 Forbidden\r\nContent-Type: text/x-app\r\nX-Reason: not-a-member\r\n"
            . "Content-Length: " . length($body) . "\r\nConnection: close\r\n\r\n$body";
    }
});
sub asked { open my $fh, '<', $log or return []; [map { chomp; [split /\t/, $_, -1] } <$fh>] }

my $ok = 'ok-' . fresh_channel('az');
my $no = 'no-' . fresh_channel('az');
publish($ok, 'allowed');
publish($no, 'secret');

my $r = request('GET', "/authsub/$ok", timeout => 5);
ok t_cmp("$r->{status} $r->{body}", '200 allowed', 'allowed: the long poll is served');
my $last = asked()->[-1] || [];
ok t_cmp([@$last[0 .. 3]], [$ok, 'subscriber', "/authsub/$ok", 'GET'],
         'the application was told the channel, the role and the request');
my $d = request('GET', "/authsub/$no", timeout => 5);
ok t_cmp([$d->{status}, $d->{headers}{'content-type'}, $d->{headers}{'x-reason'}, $d->{body}],
         [403, 'text/x-app', 'not-a-member', "no entry for you\n"],
         "refused: the application's status, headers and body, as it said them");
my $ck = request('GET', "/authsub/$no", headers => { Cookie => 'token=good' }, timeout => 5);
ok t_cmp("$ck->{status} $ck->{body}", '200 secret', "the client's cookies reach the application");
ok t_cmp(scalar(grep { $_->[0] eq $no && $_->[4] eq 'token=good' } @{ asked() }), 1,
         'the application saw the cookie, once');

# Every long poll asks again.
my $before = grep { $_->[0] eq $ok } @{ asked() };
request('GET', "/authsub/$ok", timeout => 5) for 1 .. 2;
ok t_cmp(wait_for_value(sub { scalar(grep { $_->[0] eq $ok } @{ asked() }) - $before }, 2, 5), 2,
         'each long poll is authorized');

# Streams are asked before they start.
my $es = sse_open("/authsub/$no");
ok t_cmp($es && $es->{status}, 403, 'EventSource: refused before the stream');
my $ws = ws_connect("/authsub/$no");
ok t_cmp($ws && $ws->{status}, 403, 'WebSocket: refused before the handshake');
my $wok = ws_connect("/authsub/$ok");
ok t_cmp($wok && $wok->{status}, 101, 'WebSocket: allowed');
close $wok->{sock} if $wok;

# Publishers too.
my $p = request('POST', "/authpub/$no", body => 'injected');
ok t_cmp([$p->{status}, json(request('GET', "/pub/$no")->{body})->{messages}], [403, 1],
         'a refused publisher publishes nothing');
my $pp = request('POST', "/authpub/$ok", body => 'by the publisher');
ok t_cmp([$pp->{status} =~ /^20[12]$/ ? 'published' : $pp->{status}, (asked()->[-1] || [])->[1]],
         ['published', 'publisher'], 'an allowed publisher, asked as publisher');

# The application is down: nothing is allowed.
$app->stop;
my $down = request('GET', "/authsub/$ok", timeout => 10);
ok t_cmp($down ? $down->{status} : 'no answer', qr/^5\d\d$/, 'the application down: refused with a 5xx, not allowed');
