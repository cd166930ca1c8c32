# Bad configuration is refused at startup with a message naming the
# directive and what it accepts.
use strict;
use warnings FATAL => 'all';
use Apache::Test;
use Apache::TestUtil;
use Apache::TestConfig ();
use PushTest;
use File::Temp qw(tempdir);

my @cases = (
    ['PushSharedMemorySize 12Q',        qr/PushSharedMemorySize: '12Q' is not a size/],
    ['PushSharedMemorySize 1K',         qr/PushSharedMemorySize: .*64K/],
    ['PushMaxSubscribersPerChild 0',    qr/PushMaxSubscribersPerChild: expects/],
    ['PushMaxChannels 0',               qr/PushMaxChannels: expects a whole number of channels/],
    ['<Location /x>\nPushTransports longpoll carrier-pigeon\n</Location>',
                                        qr/PushTransports: unknown transport 'carrier-pigeon' \(accepted: websocket eventsource longpoll poll chunked multipart-mixed http-raw-stream\)/],
    ['<Location /x>\nPushMessageBufferLength -1\n</Location>',
                                        qr/PushMessageBufferLength: expects/],
    ['<Location /x>\nPushMessageBufferLength 1000001\n</Location>',
                                        qr/PushMessageBufferLength: expects/],
    ['<Location /x>\nPushMessageTimeout soon\n</Location>',
                                        qr/PushMessageTimeout: 'soon' is not a duration up to 10 years: seconds, or with units such as 90s, 5m, 1h30m, 2d/],
    ['<Location /x>\nPushMessageTimeout 30m1h\n</Location>',
                                        qr/PushMessageTimeout: '30m1h' is not a duration/],
    ['<Location /x>\nPushPingInterval 2d\n</Location>',
                                        qr/PushPingInterval: '2d' is not a duration up to a day/],
    ['<Location /x>\nPushMaxMessageSize 2G\n</Location>',
                                        qr/PushMaxMessageSize: '2G'/],
    ['<Location /x>\nPushSubscriberBacklog 100\n</Location>',
                                        qr/PushSubscriberBacklog: '100' is not a size from 1K to 1G/],
    ['<Location /x>\nPushLongPollTimeout -1\n</Location>',
                                        qr/PushLongPollTimeout: '-1' is not a duration up to a year/],
    ['<Location /x>\nPushWebSocketClientHeartbeat ping\n</Location>',
                                        qr/PushWebSocketClientHeartbeat: expects two texts/],
    ['<Location /x>\nPushWebSocketClientHeartbeat ping ' . ('x' x 126) . '\n</Location>',
                                        qr/PushWebSocketClientHeartbeat: each text must be 1 to 125 bytes/],
    ['<Location /x>\nPushMaxChannelSubscribers -1\n</Location>',
                                        qr/PushMaxChannelSubscribers: expects a whole number of subscribers from 0 \(no limit\)/],
    ['<Location /x>\nPushSubscribeExistingChannelsOnly maybe\n</Location>',
                                        qr/PushSubscribeExistingChannelsOnly must be On or Off/],
    ['<Location /x>\nPushChannelInfoFormat yaml\n</Location>',
                                        qr/PushChannelInfoFormat: expects 'json' \(mod_push's\) or 'text' \(nchan's\)/],
    ['<Location /x>\nPushRawStreamSeparator "\\q"\n</Location>',
                                        qr/PushRawStreamSeparator: the escapes are/],
    ['<Location /x>\nPushRawStreamSeparator ""\n</Location>',
                                        qr/PushRawStreamSeparator takes one argument/],
    ['<Location /x>\nPushEventSourcePing beep\n</Location>',
                                        qr/PushEventSourcePing: expects 'comment', or 'event <name> \[<data>\]'/],
    ['<Location /x>\nPushFirstMessage middle\n</Location>',
                                        qr/PushFirstMessage: expects 'oldest', 'newest', N \(the Nth buffered message from the oldest\) or -N/],
    ['<Location /x>\nPushFirstMessage 1000001\n</Location>',
                                        qr/PushFirstMessage: expects .*N up to 1000000/],
    ['<Location /x>\nPushFirstMessage --2\n</Location>',
                                        qr/PushFirstMessage: expects/],
    ['<Location /x>\nPushAllowOrigin example.com\n</Location>',
                                        qr/PushAllowOrigin: 'example.com'/],
    # An Origin header never has a path: this would never match.
    ['<Location /x>\nPushAllowOrigin https://app.example/\n</Location>',
                                        qr{PushAllowOrigin: 'https://app.example/' is neither .*no path}],
    ['<Location /x>\nPushMaxMessageSize 1.5M\n</Location>',
                                        qr/PushMaxMessageSize: '1.5M' is not a size/],
    ['PushSharedMemorySize 99999999999999999999M',
                                        qr/PushSharedMemorySize: '99999999999999999999M' is not a size/],
    ['<Location /x>\nPushPublisherChannel "%{unbalanced"\n</Location>',
                                        qr/PushPublisherChannel: cannot parse/],
    ['<Location /x>\nPushChannel "%{unbalanced"\n</Location>',
                                        qr/PushChannel: cannot parse/],
    ['<Location /x>\nPushChannel "room" "%{unbalanced"\n</Location>',
                                        qr/PushChannel: cannot parse string expression '%\{unbalanced'/],
    ['<Location /x>\nPushChannel\n</Location>',
                                        qr/PushChannel: expects string expressions, one for each channel/],
    ['<Location /x>\nPushChannel ' . join(' ', map { "c$_" } 1 .. 65) . '\n</Location>',
                                        qr/PushChannel: at most 64 string expressions \(httpd's limit/],
    ['<Location /x>\nPushChannelSplit ""\n</Location>',
                                        qr/PushChannelSplit takes one argument/],
    ['<Location /x>\nPushChannelSplit ' . ('x' x 256) . '\n</Location>',
                                        qr/PushChannelSplit: expects a delimiter of 1 to 255 bytes/],
    ['<Location /x>\nPushSubscribeRequest "%{unbalanced"\n</Location>',
                                        qr/PushSubscribeRequest: cannot parse/],
    ['<Location /x>\nPushUnsubscribeRequest "%{unbalanced"\n</Location>',
                                        qr/PushUnsubscribeRequest: cannot parse/],
    ['<VirtualHost *:1>\nPushSharedMemorySize 8M\n</VirtualHost>',
                                        qr/PushSharedMemorySize.*cannot occur within <VirtualHost>/],
    ['PushStore carrier-pigeon',        qr/PushStore: unknown store engine 'carrier-pigeon' \(available: shm\)/],
    ['<VirtualHost *:1>\nPushStore shm\n</VirtualHost>',
                                        qr/PushStore.*cannot occur within <VirtualHost>/],
    ['PushRedis http://127.0.0.1',     qr/PushRedis: 'http:\/\/127.0.0.1' must start with redis:\/\//],
    ['PushRedis redis://h:0',          qr/PushRedis: 'redis:\/\/h:0' the port must be a number from 1 to 65535/],
    ['PushRedis redis://h/x',          qr/PushRedis: .*the database must be a number/],
    ['PushRedis redis://user@h',       qr/PushRedis: .*credentials need a colon/],
    ['<VirtualHost *:1>\nPushRedis redis://h\n</VirtualHost>',
                                        qr/PushRedis.*cannot occur within <VirtualHost>.*one store per server/],
    ['PushRedis redis://a:7000 redis://b:7001/3',
                                        qr/PushRedis: 'redis:\/\/b:7001\/3' names database 3, but several URLs are a Redis Cluster/],
    ['PushRedis redis://a:7000/2 redis://b:7001',
                                        qr/PushRedis: 'redis:\/\/a:7000\/2' names database 2, but several URLs are a Redis Cluster/],
    ['PushRedis',                      qr/PushRedis: at least one redis:\/\/ or rediss:\/\/ URL/],
    ['PushRedis' . join('', map { " redis://n$_" } 1 .. 17),
                                        qr/PushRedis: at most 16 URLs/],
    ['PushRedis redis://a:7000 rediss://b:7001',
                                        qr/PushRedis: 'redis:\/\/a:7000' and 'rediss:\/\/b:7001': a cluster's nodes all speak TLS \(rediss:\/\/\) or none does/],
    ['PushRedis rediss://h\nPushRedisTLSCACertificateFile /nonexistent/ca.pem',
                                        qr/PushRedisTLSCACertificateFile: cannot read '\/nonexistent\/ca.pem': No such file or directory/],
    ['PushRedis rediss://h\nPushRedisTLSCACertificatePath /etc/passwd',
                                        qr/PushRedisTLSCACertificatePath: '\/etc\/passwd' is not a directory/],
    ['PushRedis rediss://h\nPushRedisTLSCertificateFile /etc',
                                        qr/PushRedisTLSCertificateFile: '\/etc' is not a file/],
    ['PushRedis rediss://h\nPushRedisTLSVerify maybe',
                                        qr/PushRedisTLSVerify must be On or Off/],
    ['PushRedis rediss://h\nPushRedisTLSServerName "a b"',
                                        qr/PushRedisTLSServerName: 'a b' is not a host name or address/],
    ['<VirtualHost *:1>\nPushRedisTLSVerify Off\n</VirtualHost>',
                                        qr/PushRedisTLSVerify cannot occur within <VirtualHost>/],
    # Checked once the whole configuration is read.
    ['PushRedis redis://h\nPushRedisTLSVerify Off',
                                        qr/PushRedisTLS\* directives are given, but no PushRedis URL is rediss:\/\/ \(TLS\)/],
    ['PushRedis rediss://h\nPushRedisTLSCACertificateFile /etc/passwd',
                                        qr/PushRedis: TLS to Redis: cannot load the certificates to trust from \/etc\/passwd: /],
    ['PushRedisTimeout 50ms',          qr/PushRedisTimeout: '50ms' is not a time from 100ms to 60s/],
    ['PushRedisTimeout 2h',            qr/PushRedisTimeout: '2h' is not a time/],
    ['PushRedisPrefix a{b}',           qr/PushRedisPrefix: 'a\{b\}' may hold printable characters only, no spaces and no braces/],
);
plan tests => 2 * @cases + 6;

my $cfg = Apache::Test::config();
my $vars = $cfg->{vars};
my $httpd = $vars->{httpd};
my $t_dir = $vars->{t_dir};
my $module = "$t_dir/../.libs/mod_push.so";
my $dir = tempdir(CLEANUP => 1);

# The MPM and core modules the suite itself loads.
open my $fh, '<', "$t_dir/conf/httpd.conf" or die $!;
my @load = grep { /^\s*LoadModule\s+(mpm_\w+|authz_core_module)\s/ } <$fh>;
close $fh;

sub check {
    my ($directive) = @_;
    $directive =~ s/\\n/\n/g;
    my $conf = "$dir/httpd.conf";
    open my $out, '>', $conf or die $!;
    print $out "ServerRoot $dir\nServerName localhost\nListen 127.0.0.1:1\n",
        "ErrorLog $dir/error_log\nPidFile $dir/httpd.pid\n",
        "DefaultRuntimeDir $dir\n", @load,
        "LoadModule push_module $module\n", "$directive\n";
    close $out;
    my $output = `$httpd -t -f $conf 2>&1`;
    return ($? >> 8, $output);
}

my ($rc, $out) = check('PushStore shm\nPushSharedMemorySize 8M');
ok t_cmp($rc, 0, "a good config passes: $out");
($rc, $out) = check('<Location /x>\nPushMessageTimeout 1h30m\nPushLongPollTimeout 5m\n'
                    . 'PushPingInterval 30s\n</Location>');
ok t_cmp($rc, 0, "durations with units pass: $out");
($rc, $out) = check('<Location /x>\nPushChannel "a" "b_%{env:X}"\nPushChannelSplit ","\n'
                    . 'PushMessageBufferLength 0\nPushSubscribeRequest "/app/in"\n'
                    . 'PushUnsubscribeRequest "/app/out"\n</Location>');
ok t_cmp($rc, 0, "several channels, a split, no history and presence hooks pass: $out");
($rc, $out) = check('PushRedis redis://app:s%40cret@127.0.0.1:6379/2\nPushRedisTimeout 500ms\n'
                    . 'PushRedisPrefix site-a:');
ok t_cmp($rc, 0, "PushRedis with credentials and a database, a timeout in ms and a prefix pass: $out");
($rc, $out) = check('PushRedis rediss://:pw@10.0.0.1:6380\nPushRedisTLSVerify On\n'
                    . 'PushRedisTLSServerName redis.example.com');
ok t_cmp($rc, 0, "PushRedis over TLS with the system's CAs and a server name passes: $out");
($rc, $out) = check('PushRedis redis://:pw@10.0.0.1:7000 redis://10.0.0.2:7000 redis://10.0.0.3');
ok t_cmp($rc, 0, "PushRedis with a cluster's three seed nodes passes: $out");
for my $case (@cases) {
    my ($rc, $out) = check($case->[0]);
    ok t_num($rc, '!=', 0, "$case->[0]: httpd -t exit status");
    ok t_cmp($out, $case->[1], $case->[0]);
}
