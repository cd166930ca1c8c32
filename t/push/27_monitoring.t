# What mod_push tells monitoring: nchan's nchan_stub_status text at a
# push-stub-status location (every line nchan 1.3 has, in its order, so
# that scripts parsing it keep working), and a mod_push section in
# mod_status's server-status, HTML and ?auto, with the same figures as
# push-status.
use strict;
use warnings FATAL => 'all';
use Apache::Test;
use Apache::TestUtil;
use PushTest;

plan tests => 12, need_module 'status';

my $ch = fresh_channel('mon');
publish($ch, "m$_") for 1 .. 3;
# A long poll waiting on another channel: a subscriber to count.
my $wait = fresh_channel('monwait');
my $lp = start_request('GET', "/sub/$wait");
wait_for(sub { push_status()->{subscribers}{longpoll} >= 1 }, 10);

my $json = push_status();
my $stub = request('GET', '/stub');
ok t_cmp($stub->{status}, 200, 'push-stub-status: 200');
ok t_cmp($stub->{headers}{'content-type'}, qr{^text/plain}, 'push-stub-status: text/plain');
my @lines = split /\n/, $stub->{body};
my @keys = map { (split /: /, $_, 2)[0] } @lines;
ok t_cmp(\@keys, ['total published messages', 'stored messages', 'shared memory used',
                  'shared memory limit', 'channels', 'subscribers', 'redis pending commands',
                  'redis connected servers', 'redis unhealthy upstreams',
                  'total redis commands sent', 'total interprocess alerts received',
                  'interprocess alerts in transit', 'interprocess queued alerts',
                  'total interprocess send delay', 'total interprocess receive delay',
                  'mod_push version'], "push-stub-status: nchan's lines, in nchan's order");
my %v = map { split /: /, $_, 2 } @lines;
ok t_cmp({ map { $_ => $v{$_} } 'total published messages', 'stored messages', 'channels',
                                'subscribers', 'shared memory used', 'shared memory limit' },
         { 'total published messages' => $json->{published}, 'stored messages' => $json->{messages},
           'channels' => $json->{channels}, 'subscribers' => $json->{subscribers}{total},
           'shared memory used' => int($json->{store_bytes_used} / 1024) . 'K',
           'shared memory limit' => int($json->{store_bytes_ring} / 1024) . 'K' },
         'push-stub-status: the figures push-status has');
ok t_num($v{subscribers}, '>=', 1, 'push-stub-status: the waiting long poll is counted');
my $post = request('POST', '/stub', body => 'x');
ok t_cmp([$post->{status}, $post->{headers}{allow}], [405, 'GET'], 'push-stub-status: POST is 405');

my $auto = request('GET', '/server-status?auto');
ok t_cmp($auto->{status}, 200, 'server-status?auto: 200');
my %a = map { /^(Push\w+): (.*)$/ ? ($1 => $2) : () } split /\n/, $auto->{body};
ok t_cmp([sort keys %a],
         [sort qw(PushChannels PushChannelSlots PushMessages PushPublished PushSubscribers
                  PushSubscribersWebsocket PushSubscribersEventsource PushSubscribersLongpoll
                  PushSubscribersPoll PushSubscribersChunked PushSubscribersMultipartMixed
                  PushSubscribersHttpRawStream PushStoreBytesUsed PushStoreBytesRing PushEvicted
                  PushExpired PushSubscriberGaps)],
         "server-status?auto: mod_push's keys");
my $now = push_status();
ok t_cmp({ map { $_ => $a{$_} } qw(PushChannels PushMessages PushPublished PushEvicted) },
         { PushChannels => $now->{channels}, PushMessages => $now->{messages},
           PushPublished => $now->{published}, PushEvicted => $now->{evicted} },
         'server-status?auto: the figures push-status has');
ok t_num($a{PushSubscribersLongpoll}, '>=', 1, 'server-status?auto: subscribers by transport');
my $html = request('GET', '/server-status');
ok t_cmp($html->{body}, qr{<h2><a name="push">mod_push</a></h2>}, 'server-status: a mod_push section');
ok t_cmp($html->{body}, qr{\d+ subscribers: websocket \d+ eventsource \d+ longpoll [1-9]\d* poll \d+},
         'server-status: subscribers by transport');
close $lp->{sock};
