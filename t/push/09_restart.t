# A graceful restart keeps every buffered message and id, and ends
# waiting long polls promptly instead of hanging.
use strict;
use warnings FATAL => 'all';
use Apache::Test;
use Apache::TestUtil;
use PushTest;
use PushWS;
use Time::HiRes qw(time sleep);

plan tests => 16;

my $vars = Apache::Test::config()->{vars};
my $pidfile = "$vars->{t_logs}/httpd.pid";

my $ch = fresh_channel('restart');
my @ids = map { json(publish($ch, "r$_")->{body})->{last_message_id} } 1 .. 3;
my $created = push_status()->{store_created};

my $w = start_request('GET', "/sub/$ch", headers => { 'Last-Event-ID' => $ids[-1] });
my $es = sse_open("/sub/$ch", headers => { 'Last-Event-ID' => $ids[0] });
sse_event($es, 5);                      # retry hint
my @before = map { (sse_event($es, 5) || {})->{id} } 1 .. 2;
ok t_cmp("@before", "@ids[1, 2]", 'event stream: ids before the restart');
my $ws = ws_connect("/sub/$ch?last_event_id=$ids[-1]");
ok t_cmp($ws && $ws->{status}, 101, 'WebSocket handshake');
ok t_cmp(wait_for_value(sub { subscribers_of($ch) },
                        3, 5), 3, 'subscribers: long poll, event stream, WebSocket');

open my $fh, '<', $pidfile or die "$pidfile: $!";
chomp(my $pid = <$fh>);
close $fh;
my $t = time;
kill 'USR1', $pid or die "kill: $!";

# The waiting long poll ends with a clean 304 carrying its cursor.
my $r = read_response($w, 15);
my $took = time - $t;
t_debug("long poll ended ${took}s after the graceful restart");
ok t_cmp($r && $r->{status}, 304, 'the waiting long poll: status');
ok t_num($took, '<', 10, 'seconds from the restart to its answer');
my ($ct, $cn) = split /:/, $ids[-1];
ok t_cmp($r && $r->{headers}{etag}, $cn, 'the 304: its cursor\'s Etag');
# The event stream ends too (the browser would reconnect), and the
# WebSocket is closed with 1001 (going away).
ok t_cmp(sse_closed($es, 10), 1, 'the event stream ends');
my $cf = ws_recv_data($ws, 10);
my ($code) = $cf && $cf->{opcode} == 8 ? ws_close_payload($cf->{payload}) : ();
ok t_cmp($code, 1001, 'the WebSocket\'s close code');

# The server comes back with the same store.
ok t_cmp(wait_for(sub { my $x = eval { request('GET', '/status', timeout => 2) };
                          $x && $x->{status} == 200 }, 20),
         1, 'the server answers again');
ok t_cmp(push_status()->{store_created}, $created, 'status: the same store_created');
my $info = json(request('GET', "/pub/$ch")->{body});
ok t_cmp($info->{messages}, 3, 'messages kept');
ok t_cmp($info->{last_message_id}, $ids[-1], 'last_message_id kept');
my @walk;
my $cur;
for (1 .. 3) {
    my $x = request('GET', "/sub/$ch", $cur ? (headers => { 'Last-Event-ID' => $cur }) : ());
    push @walk, $x->{body};
    $cur = $x->{headers}{'x-push-message-id'};
}
ok t_cmp("@walk", 'r1 r2 r3', 'a walk after the restart');
# An EventSource reconnecting with its Last-Event-ID loses nothing.
my $again = sse_open("/sub/$ch", headers => { 'Last-Event-ID' => $ids[-1] });
sse_event($again, 5);
# Ids keep increasing.
my $r4 = json(publish($ch, 'r4')->{body})->{last_message_id};
my ($nt, $nn) = split /:/, $r4;
my $ev = sse_event($again, 5);
ok t_cmp($ev && $ev->{id}, $r4, 'a resumed event stream: the new id');
ok t_cmp($ev && $ev->{data}, 'r4', 'a resumed event stream: the new message');
my ($lt, $ln) = split /:/, $ids[-1];
ok t_cmp(($nt > $lt || ($nt == $lt && $nn > $ln)) ? 'after' : "$r4 is not after $ids[-1]",
         'after', 'a new id after the restart comes after the old ones');
