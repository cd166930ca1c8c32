# PushMaxSubscribersPerChild: subscribers beyond a child's cap get 503,
# and ordinary requests still get through.  The cap counts subscribers
# that hold a thread, as every subscriber does under the worker MPM.
# Under the event MPM an HTTP/1.x subscriber, with TLS or without, is
# parked (15_parked.t, 50_tls_parked.t) and not counted: there the same
# crowd, over TLS, must all be admitted and all get the message.
use strict;
use warnings FATAL => 'all';
use Apache::Test;
use Apache::TestUtil;
use PushTest;
use Time::HiRes qw(time);

my $mpm = Apache::Test::config()->{server}{mpm} || '';
my $event = $mpm eq 'event';
plan tests => 5, need { 'per-child cap needs a threaded MPM' => $mpm ne 'prefork',
                        'TLS virtual host' => !$event || defined ssl_hostport() };

my $ch = fresh_channel('cap');
publish($ch, 'x');
my $id = request('GET', "/sub/$ch")->{headers}{'x-push-message-id'};
# More long polls than the children can hold under the cap (4 children of
# 128 threads, 120 subscribers each).
my $n = 500;
my @held = map {
    start_request('GET', "/sub/$ch", headers => { 'Last-Event-ID' => $id },
                  ssl => $event ? 1 : 0)
} 1 .. $n;

# The ones answered before anything is published were refused.
sub answered_early {
    my ($seconds) = @_;
    my $refused;
    my $deadline = time + $seconds;
    while (time < $deadline) {
        for my $c (@held) {
            next if $c->{answered};
            my $r = read_response($c, 0.01) or next;
            $c->{answered} = $r;
            $refused ||= $r;
        }
        last if $refused && !$event;
    }
    return $refused;
}

if (!$event) {
    my $refused = answered_early(20);
    ok t_cmp($refused && $refused->{status}, 503, 'a subscriber over the cap: status');
    ok t_cmp($refused && $refused->{body}, qr/Too many subscribers/,
             'a subscriber over the cap: reason');
    ok t_true($refused && $refused->{headers}{'retry-after'},
              'a subscriber over the cap: Retry-After');
}
else {
    ok t_cmp(wait_for_value(sub { subscribers_of($ch) }, $n, 30), $n,
             "parked TLS long polls past the cap: all $n subscribed");
    my $refused = answered_early(2);
    ok t_cmp($refused && "$refused->{status} $refused->{body}", undef,
             'parked TLS long polls past the cap: none answered before a message');
    publish($ch, 'past the cap');
    my $got = 0;
    my $deadline = time + 60;
    while ($got < $n && time < $deadline) {
        for my $c (@held) {
            next if $c->{answered};
            my $r = read_response($c, 0.01) or next;
            $c->{answered} = $r;
            $got++ if $r->{status} == 200 && $r->{body} eq 'past the cap';
        }
    }
    ok t_cmp($got, $n, 'parked TLS long polls past the cap: answered with the message');
}
# Not starved: ordinary requests are still served.
my $st = request('GET', '/status');
ok t_cmp($st && $st->{status}, 200, 'an ordinary request at the cap');
close $_->{sock} for @held;
ok t_cmp(wait_for_value(sub { subscribers_of($ch) },
                        0, 10), 0, 'subscribers once they all hung up');
