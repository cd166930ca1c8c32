# A full store evicts the oldest messages (and counts them); one message
# that cannot fit at all is refused with 507.  The server stays up.
use strict;
use warnings FATAL => 'all';
use Apache::Test;
use Apache::TestUtil;
use PushTest;

plan tests => 10;

my $before = push_status();
my $ch = fresh_channel('evict');
my $big = 'e' x (512 * 1024);
my @ids;
my $refused = '';
for my $i (1 .. 16) {
    my $r = request('POST', "/pubhuge/$ch", body => sprintf("%02d", $i) . $big);
    $refused ||= "message $i: " . ($r ? $r->{status} : 'no answer')
        unless $r && $r->{status} == 202;
    push @ids, json($r->{body})->{last_message_id} if $r;
}
ok t_cmp($refused, '', 'every publish answered 202 (the first that was not)');
my $after = push_status();
ok t_num($after->{evicted}, '>', $before->{evicted}, 'status: evicted');
ok t_num($after->{store_bytes_used}, '<=', $after->{store_bytes_total},
         'status: store_bytes_used within store_bytes_total');

# What is left is the newest messages, in order, with no hole.
my $info = json(request('GET', "/pub/$ch")->{body});
ok t_num($info->{messages}, '>=', 2, 'messages left, at least');
ok t_num($info->{messages}, '<', 16, 'messages left, fewer than published');
my @got;
my $cur = $ids[0];
my $first = request('GET', "/sub/$ch", headers => { 'Last-Event-ID' => $cur });
ok t_true($first->{headers}{'x-push-gap'}, 'the first cursor\'s X-Push-Gap');
push @got, substr($first->{body}, 0, 2);
$cur = $first->{headers}{'x-push-message-id'};
for (2 .. $info->{messages}) {
    my $r = request('GET', "/sub/$ch", headers => { 'Last-Event-ID' => $cur });
    push @got, substr($r->{body}, 0, 2);
    $cur = $r->{headers}{'x-push-message-id'};
}
my @want = map { sprintf "%02d", $_ } (17 - $info->{messages}) .. 16;
ok t_cmp("@got", "@want", 'the newest messages, in order, no hole');

# Bigger than the whole store: 507 with a reason.
my $r = request('POST', "/pubhuge/$ch", body => 'h' x (5 * 1024 * 1024));
ok t_cmp($r->{status}, 507, 'bigger than the store: status');
ok t_cmp($r->{body}, qr/cannot fit/, 'bigger than the store: reason');
ok t_num(push_status()->{published}, '>=', $after->{published},
         'status: published, after the refusal');
