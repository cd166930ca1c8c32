# A full store evicts the oldest messages (and counts them); one message
# that cannot fit at all is refused with 507.  The server stays up.
use strict;
use warnings FATAL => 'all';
use Apache::Test;
use Apache::TestUtil;
use PushTest;

plan tests => 9;

my $before = push_status();
my $ch = fresh_channel('evict');
my $big = 'e' x (512 * 1024);
my @ids;
my $ok = 1;
for my $i (1 .. 16) {
    my $r = request('POST', "/pubhuge/$ch", body => sprintf("%02d", $i) . $big);
    $ok = 0 unless $r && $r->{status} == 202;
    push @ids, json($r->{body})->{last_message_id} if $r;
}
ok $ok;
my $after = push_status();
ok $after->{evicted} > $before->{evicted};
ok $after->{store_bytes_used} <= $after->{store_bytes_total};

# What is left is the newest messages, in order, with no hole.
my $info = json(request('GET', "/pub/$ch")->{body});
ok $info->{messages} >= 2 && $info->{messages} < 16;
my @got;
my $cur = $ids[0];
my $first = request('GET', "/sub/$ch", headers => { 'Last-Event-ID' => $cur });
ok $first->{headers}{'x-push-gap'};
push @got, substr($first->{body}, 0, 2);
$cur = $first->{headers}{'x-push-message-id'};
for (2 .. $info->{messages}) {
    my $r = request('GET', "/sub/$ch", headers => { 'Last-Event-ID' => $cur });
    push @got, substr($r->{body}, 0, 2);
    $cur = $r->{headers}{'x-push-message-id'};
}
my @want = map { sprintf "%02d", $_ } (17 - $info->{messages}) .. 16;
ok "@got" eq "@want";

# Bigger than the whole store: 507 with a reason.
my $r = request('POST', "/pubhuge/$ch", body => 'h' x (5 * 1024 * 1024));
ok $r->{status} == 507;
ok $r->{body} =~ /cannot fit/;
ok push_status()->{published} >= $after->{published};
