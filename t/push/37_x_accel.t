# PushXAccelRedirect (nginx's X-Accel-Redirect, which nchan's users'
# applications send): the application, here a small HTTP server this
# test starts behind mod_proxy, answers a client with
# X-Accel-Redirect: /internal/sub/<room>, and the client becomes a
# subscriber of that location by httpd's internal redirect.  The internal
# locations refuse direct requests (Require expr on REDIRECT_STATUS).
# Under the event MPM the handed-over subscribers are parked.
use strict;
use warnings FATAL => 'all';
use Apache::Test;
use Apache::TestUtil;
use PushTest;
use PushWS;
use PushApp;

plan tests => 19, need_module 'proxy_http';

my $log = Apache::Test::config()->{vars}{t_logs} . '/accelapp.log';
unlink $log;

# The application: members (cookie user=ok) are handed to the room's
# subscriber location, publishers to its publisher location; /bad names
# a URL that is not local, /plain is an ordinary answer.  It logs each
# request's path and body.
PushApp->start('/accelapp/', sub {
    my ($c, $req) = @_;
    my ($path, $body, %h) = ($req->{path}, $req->{body}, %{ $req->{headers} });
    if (open my $lf, '>>', $log) { print $lf "$path\t$body\n"; close $lf }
    my ($room) = $path =~ /room=(\w[\w.-]*)/;
    my $hand = sub {
        my $to = shift;
        my $ignored = "the application's own body, not for the client\n";
        print $c "HTTP/1.1 200 OK\r\nX-Accel-Redirect: $to\r\nX-Accel-Buffering: no\r\n"
            . "Content-Type: text/plain\r\nContent-Length: " . length($ignored)
            . "\r\nConnection: close\r\n\r\n$ignored";
    };
    if ($path =~ m{^/sub\b} && ($h{cookie} // '') =~ /user=ok/) {
        $hand->("/internal/sub/$room");
    }
    elsif ($path =~ m{^/pub\b}) {
        $hand->("/internal/pub/$room");
    }
    elsif ($path =~ m{^/bad\b}) {
        $hand->('http://elsewhere.example/sub/x');
    }
    elsif ($path =~ m{^/plain\b}) {
        print $c "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n"
            . "Connection: close\r\n\r\njust the app\n";
    }
    else {
        my $no = "members only\n";
        print $c "HTTP/1.1 403 Forbidden\r\nContent-Type: text/x-app\r\nContent-Length: "
            . length($no) . "\r\nConnection: close\r\n\r\n$no";
    }
});
sub asked { open my $fh, '<', $log or return []; [map { chomp; [split /\t/, $_, -1] } <$fh>] }

my $mpm = Apache::Test::config()->{server}{mpm} // '';
my %member = (Cookie => 'user=ok');
my $room = fresh_channel('xa');

# The internal locations are not for clients.
my $direct = request('GET', "/internal/sub/$room", timeout => 5);
ok t_cmp($direct->{status}, 403, 'the internal subscriber location, asked directly');

# A long poll, handed over: it waits, and gets the room's next message.
my $lp = start_request('GET', "/accelapp/sub?room=$room", headers => \%member);
sleep 0.3;
my $id = publish($room, 'first')->{headers}{'x-push-message-id'};
my $r = read_response($lp, 10);
ok t_cmp([$r->{status}, $r->{body}, $r->{headers}{'x-push-message-id'}],
         [200, 'first', $id], 'a long poll handed over by the application gets the message');
ok t_cmp([grep { defined } @{ $r->{headers} }{qw(x-accel-redirect x-accel-buffering)}], [],
         'the X-Accel headers are not passed to the client');

# The client's query string goes with it: a cursor resumes.
publish($room, 'second');
my $resume = request('GET', "/accelapp/sub?room=$room&last_event_id=$id",
                     headers => \%member, timeout => 5);
ok t_cmp("$resume->{status} $resume->{body}", '200 second',
         "the client's ?last_event_id= reaches the subscriber location");

# The application refuses: its answer reaches the client as it gave it.
my $no = request('GET', "/accelapp/sub?room=$room", timeout => 5);
ok t_cmp([$no->{status}, $no->{headers}{'content-type'}, $no->{body}],
         [403, 'text/x-app', "members only\n"], "a refusal is the application's");

# An ordinary answer passes untouched.
my $plain = request('GET', '/accelapp/plain', timeout => 5);
ok t_cmp("$plain->{status} $plain->{body}", "200 just the app\n", 'an answer without the header');

# Not a local URL: 502, with the reason in the log.
my $bad = request('GET', '/accelapp/bad', timeout => 5);
ok t_cmp($bad->{status}, 502, 'X-Accel-Redirect to another server is refused');

sub parked_max {
    my $parked = 0;
    for (1 .. 16) {
        my $p = push_status()->{child_parked_streams} // 0;
        $parked = $p if $p > $parked;
    }
    return $parked;
}
sub parked_ok {
    my ($parked, $what) = @_;
    return $mpm eq 'event' ? t_num($parked, '>', 0, "handed-over $what are parked")
                           : t_cmp($parked, 0, "no $what are parked under $mpm");
}

# Long polls, several at once (parked under event: the handler that
# redirected answers SUSPENDED for them).
my $room3 = fresh_channel('xa');
my @lps = map { start_request('GET', "/accelapp/sub?room=$room3", headers => \%member) } 1 .. 4;
ok t_cmp(wait_for_value(sub { subscribers_of($room3) },
                        4, 10), 4, 'handed-over long polls are counted');
ok parked_ok(parked_max(), 'long polls');
publish($room3, 'to the polls');
ok t_cmp([map { my $a = read_response($_, 10); $a ? "$a->{status} $a->{body}" : 'none' } @lps],
         [('200 to the polls') x 4], 'every parked long poll is answered');

# Event streams and WebSockets, several at once (parked under event).
my $room2 = fresh_channel('xa');
my @es = map { sse_open("/accelapp/sub?room=$room2", headers => \%member) } 1 .. 6;
ok t_cmp([map { $_ && $_->{status} } @es], [(200) x 6], 'event streams handed over');
my $ws = ws_connect("/accelapp/sub?room=$room2", headers => \%member);
ok t_cmp($ws && $ws->{status}, 101, 'a WebSocket handed over');
ok t_cmp(wait_for_value(sub { subscribers_of($room2) },
                        7, 10), 7, 'the handed-over subscribers are counted');
ok parked_ok(parked_max(), 'streams');

# Published by a publisher the application handed a POST to: the body
# reached both the application and the push location.
my $pub = request('POST', "/accelapp/pub?room=$room2", body => 'from the app side',
                  timeout => 5);
ok t_cmp($pub->{status}, qr/^20[12]$/, 'a POST handed to the publisher location publishes');
my ($seen) = grep { $_->[0] =~ m{^/pub} } @{ asked() };
ok t_cmp($seen && $seen->[1], 'from the app side', 'the application saw the body too');
my @got = map { my $e = sse_event($_, 5); $e = sse_event($_, 5) if $e && !defined $e->{data}; $e } @es;
ok t_cmp([map { $_ && $_->{data} } @got], [('from the app side') x 6],
         'every handed-over event stream got it');
my $wm = $ws && ws_recv_data($ws, 5);
$wm = $wm && $wm->{payload};
ok t_cmp($wm, 'from the app side', 'the handed-over WebSocket got it');

# They end as any other subscriber.
close $_->{sock} for grep { $_ } @es, $ws;
ok t_cmp(wait_for_value(sub { subscribers_of($room2) },
                        0, 10), 0, 'hung-up subscribers are uncounted');
