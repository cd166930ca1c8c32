# PushPublisherUpstreamRequest (nchan's nchan_publisher_upstream_request):
# each message is POSTed to the application, behind mod_proxy, before it
# is published, and its answer decides: 200 publishes the application's
# body (and type) instead, 304 the message as it came, 204 nothing (the
# publisher gets 204); anything else refuses it (403), and an
# application that cannot be reached is 502.  A WebSocket publisher's
# messages go the same way.
use strict;
use warnings FATAL => 'all';
use Apache::Test;
use Apache::TestUtil;
use PushTest;
use PushWS;
use PushApp;

plan tests => 18, need_module 'proxy_http';

my $log = Apache::Test::config()->{vars}{t_logs} . '/upapp.log';
unlink $log;

my $app = PushApp->start('/upapp/', sub {
    my ($c, $req) = @_;
    my %h = %{ $req->{headers} };
    if (open my $lf, '>>', $log) {
        print $lf join("\t", $req->{method}, $h{'x-push-channel-id'} // '',
                       $h{'x-push-publisher-type'} // '', $h{'content-type'} // '',
                       $req->{body}), "\n";
        close $lf;
    }
    my ($verb, $rest) = $req->{body} =~ /^(\w+):(.*)$/s;
    $verb //= '';
    my $answer = sub {
        my ($status, $type, $body) = @_;
        print $c "HTTP/1.1 $status\r\n" . ($type ? "Content-Type: $type\r\n" : '')
            . "Content-Length: " . length($body) . "\r\nConnection: close\r\n\r\n$body";
    };
    if ($verb eq 'upper')   { $answer->('200 OK', 'text/x-upper', uc $rest) }
    elsif ($verb eq 'keep') { $answer->('304 Not Modified', undef, '') }
    elsif ($verb eq 'drop') { $answer->('204 No Content', undef, '') }
    elsif ($verb eq 'huge') { $answer->('200 OK', 'text/plain', 'x' x 4096) }
    else                    { $answer->('403 Forbidden', 'text/plain', "not this one\n") }
});

sub asked { open my $fh, '<', $log or return []; [map { chomp; [split /\t/, $_, -1] } <$fh>] }
sub messages_of { my $r = request('GET', "/pub/$_[0]", headers => { Accept => 'application/json' });
                  $r->{status} == 200 ? json($r->{body})->{messages} : 0 }

my $ch = fresh_channel('up');
my $p = request('POST', "/uppub/$ch", body => 'upper:hello',
                headers => { 'Content-Type' => 'text/plain' });
ok t_cmp($p->{status}, 202, 'published through the application');
my $a = asked()->[-1] || [];
ok t_cmp([@$a[0 .. 4]], ['POST', $ch, 'http', 'text/plain', 'upper:hello'],
         'the application got the message as a POST, with its channel, publisher type and type');
my $got = request('GET', "/sub/$ch", timeout => 5);
ok t_cmp([$got->{body}, $got->{headers}{'content-type'}], ['HELLO', 'text/x-upper'],
         "200: the application's body and type are what was published");

# 304: as it came.
my $id = publish($ch, 'x')->{headers}{'x-push-message-id'};   # a cursor
request('POST', "/uppub/$ch", body => 'keep:as it was', headers => { 'Content-Type' => 'text/x-mine' });
my $k = request('GET', "/sub/$ch", headers => { 'Last-Event-ID' => $id }, timeout => 5);
ok t_cmp([$k->{body}, $k->{headers}{'content-type'}], ['keep:as it was', 'text/x-mine'],
         '304: the message as the publisher sent it');

# 204: nothing.
my $before = messages_of($ch);
my $d = request('POST', "/uppub/$ch", body => 'drop:this');
ok t_cmp([$d->{status}, $d->{body}], [204, ''], '204: the publisher gets 204');
ok t_cmp(messages_of($ch), $before, 'and nothing is published');

# Anything else: refused.
my $n = request('POST', "/uppub/$ch", body => 'nope');
ok t_cmp([$n->{status}, $n->{body}], [403, qr/refused the message \(PushPublisherUpstreamRequest answered 403\)/],
         '403 from the application: refused, said why');
ok t_cmp(messages_of($ch), $before, 'nothing published');

# The application's message over PushMaxMessageSize.
my $h = request('POST', "/uppub/$ch", body => 'huge:');
ok t_cmp([$h->{status}, $h->{body}], [413, qr/over PushMaxMessageSize/], "its message too big: 413");

# A WebSocket publisher: the same path.
sub last_id { my $r = request('GET', "/pub/$_[0]", headers => { Accept => 'application/json' });
              $r->{status} == 200 ? json($r->{body})->{last_message_id} : '0:0' }
my $mark = last_id($ch);
my $ws = ws_connect("/uppub/$ch", headers => { Accept => 'application/json' });
ok t_cmp($ws && $ws->{status}, 101, 'a WebSocket publisher');
ws_send($ws, 1, 'upper:from a socket');
my $info = ws_recv_data($ws, 10);
my $ij = $info ? eval { json($info->{payload}) } || {} : {};
ok t_cmp(defined $ij->{messages} ? 'info' : ($info ? $info->{payload} : 'none'), 'info',
         'its message is answered with the channel info');
my $wa = asked()->[-1] || [];
ok t_cmp([@$wa[2, 4]], ['websocket', 'upper:from a socket'], 'the application got it, from a websocket');
my $w = request('GET', "/sub/$ch", headers => { 'Last-Event-ID' => $mark }, timeout => 5);
ok t_cmp($w->{body}, 'FROM A SOCKET', "what was published is the application's");
# 204: nothing published, nothing said, and the socket goes on.
my $before_ws = messages_of($ch);
ws_send($ws, 1, 'drop:quietly');
ws_send($ws, 1, 'upper:after');
my $after = ws_recv_data($ws, 10);
ok t_cmp([$after && eval { json($after->{payload})->{messages} }, messages_of($ch)],
         [$before_ws + 1, $before_ws + 1],
         '204 for a WebSocket message: dropped without a word, the next one published');
ws_send($ws, 1, 'deny:');
my $cl = ws_recv_data($ws, 10);
ok t_cmp($cl ? (ws_close_payload($cl->{payload}))[0] : undef, 1008, 'refused by the application: close 1008');

# The application gone: 502.
$app->stop;
my $count = messages_of($ch);
my $g = request('POST', "/uppub/$ch", body => 'upper:anyone');
ok t_cmp([$g->{status}, $g->{body}], [502, qr/could not be asked/], 'the application unreachable: 502, said why');
ok t_cmp(messages_of($ch), $count, 'and nothing is published');
my $down = ws_connect("/uppub/$ch");
ws_send($down, 1, 'upper:nobody');
my $df = ws_recv_data($down, 10);
ok t_cmp($df ? (ws_close_payload($df->{payload}))[0] : undef, 1011,
         'the application unreachable for a WebSocket: close 1011');
