# A graceful restart keeps every buffered message and id, and ends
# waiting long polls promptly instead of hanging.
use strict;
use warnings FATAL => 'all';
use Apache::Test;
use Apache::TestUtil;
use PushTest;
use PushWS;
use Time::HiRes qw(time sleep);

plan tests => 14;

my $vars = Apache::Test::config()->{vars};
my $pidfile = "$vars->{t_logs}/httpd.pid";

my $ch = fresh_channel('restart');
my @ids = map { json(publish($ch, "r$_")->{body})->{last_message_id} } 1 .. 3;
my $created = push_status()->{store_created};

my $w = start_request('GET', "/sub/$ch", headers => { 'Last-Event-ID' => $ids[-1] });
my $es = sse_open("/sub/$ch", headers => { 'Last-Event-ID' => $ids[0] });
sse_event($es, 5);                      # retry hint
my @before = map { (sse_event($es, 5) || {})->{id} } 1 .. 2;
ok "@before" eq "@ids[1, 2]";
my $ws = ws_connect("/sub/$ch?last_event_id=$ids[-1]");
ok $ws && $ws->{status} == 101;
ok wait_for(sub { json(request('GET', "/pub/$ch")->{body})->{subscribers} == 3 }, 5);

open my $fh, '<', $pidfile or die "$pidfile: $!";
chomp(my $pid = <$fh>);
close $fh;
my $t = time;
kill 'USR1', $pid or die "kill: $!";

# The waiting long poll ends with a clean 304 carrying its cursor.
my $r = read_response($w, 15);
my $took = time - $t;
t_debug("long poll ended ${took}s after the graceful restart");
ok $r && $r->{status} == 304;
ok $took < 10;
my ($ct, $cn) = split /:/, $ids[-1];
ok $r && $r->{headers}{etag} eq $cn;
# The event stream ends too (the browser would reconnect), and the
# WebSocket is closed with 1001 (going away).
ok sse_closed($es, 10);
my $cf = ws_recv_data($ws, 10);
my ($code) = $cf && $cf->{opcode} == 8 ? ws_close_payload($cf->{payload}) : ();
ok defined $code && $code == 1001;

# The server comes back with the same store.
ok wait_for(sub { my $x = eval { request('GET', '/status', timeout => 2) };
                  $x && $x->{status} == 200 }, 20);
ok push_status()->{store_created} == $created;
my $info = json(request('GET', "/pub/$ch")->{body});
ok $info->{messages} == 3 && $info->{last_message_id} eq $ids[-1];
my @walk;
my $cur;
for (1 .. 3) {
    my $x = request('GET', "/sub/$ch", $cur ? (headers => { 'Last-Event-ID' => $cur }) : ());
    push @walk, $x->{body};
    $cur = $x->{headers}{'x-push-message-id'};
}
ok "@walk" eq 'r1 r2 r3';
# An EventSource reconnecting with its Last-Event-ID loses nothing.
my $again = sse_open("/sub/$ch", headers => { 'Last-Event-ID' => $ids[-1] });
sse_event($again, 5);
# Ids keep increasing.
my $r4 = json(publish($ch, 'r4')->{body})->{last_message_id};
my ($nt, $nn) = split /:/, $r4;
my $ev = sse_event($again, 5);
ok $ev && $ev->{id} eq $r4 && $ev->{data} eq 'r4';
my ($lt, $ln) = split /:/, $ids[-1];
ok $nt > $lt || ($nt == $lt && $nn > $ln);
