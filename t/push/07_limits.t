# PushMaxSubscribersPerChild: subscribers beyond a child's cap get 503,
# and ordinary requests still get through.
use strict;
use warnings FATAL => 'all';
use Apache::Test;
use Apache::TestUtil;
use PushTest;

my $mpm = Apache::Test::config()->{server}{mpm} || '';
plan tests => 5, need { 'per-child cap needs a threaded MPM' => $mpm ne 'prefork' };

my $ch = fresh_channel('cap');
publish($ch, 'x');
my $id = request('GET', "/sub/$ch")->{headers}{'x-push-message-id'};
my (@held, $refused);
for (1 .. 250) {
    my $c = start_request('GET', "/sub/$ch", headers => { 'Last-Event-ID' => $id });
    my $r = read_response($c, 0.3);
    if ($r) {
        $refused = $r;
        close $c->{sock};
        last;
    }
    push @held, $c;
}
ok $refused && $refused->{status} == 503;
ok $refused && $refused->{body} =~ /Too many subscribers/;
ok $refused && $refused->{headers}{'retry-after'};
# Not starved: ordinary requests are still served.
my $st = request('GET', '/status');
ok $st && $st->{status} == 200;
close $_->{sock} for @held;
ok wait_for(sub { json(request('GET', "/pub/$ch")->{body})->{subscribers} == 0 }, 10);
