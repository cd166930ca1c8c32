# PushMaxSubscribersPerChild: subscribers beyond a child's cap get 503,
# and ordinary requests still get through.  The cap counts subscribers
# that hold a thread: under the event MPM a plain long poll is parked
# (15_parked.t), so there the thread-holding kind, over TLS, is used.
use strict;
use warnings FATAL => 'all';
use Apache::Test;
use Apache::TestUtil;
use PushTest;
use Time::HiRes qw(time);

my $mpm = Apache::Test::config()->{server}{mpm} || '';
plan tests => 5, need { 'per-child cap needs a threaded MPM' => $mpm ne 'prefork',
                        'TLS virtual host' => $mpm ne 'event' || defined ssl_hostport() };

my $ch = fresh_channel('cap');
publish($ch, 'x');
my $id = request('GET', "/sub/$ch")->{headers}{'x-push-message-id'};
# More long polls than the children can hold under the cap (4 children of
# 128 threads, 120 subscribers each): the ones that get an answer at once
# were refused.
my $ssl = $mpm eq 'event' ? 1 : 0;
my @held = map {
    start_request('GET', "/sub/$ch", headers => { 'Last-Event-ID' => $id },
                  ssl => $ssl)
} 1 .. 500;
my $refused;
my $deadline = time + 20;
while (!$refused && time < $deadline) {
    for my $c (@held) {
        next if $c->{answered};
        my $r = read_response($c, 0.01) or next;
        $c->{answered} = 1;
        $refused ||= $r;
    }
}
ok t_cmp($refused && $refused->{status}, 503, 'a subscriber over the cap: status');
ok t_cmp($refused && $refused->{body}, qr/Too many subscribers/,
         'a subscriber over the cap: reason');
ok t_true($refused && $refused->{headers}{'retry-after'},
          'a subscriber over the cap: Retry-After');
# Not starved: ordinary requests are still served.
my $st = request('GET', '/status');
ok t_cmp($st && $st->{status}, 200, 'an ordinary request at the cap');
close $_->{sock} for @held;
ok t_cmp(wait_for_value(sub { subscribers_of($ch) },
                        0, 10), 0, 'subscribers once they all hung up');
