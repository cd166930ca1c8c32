# The browser client as the module serves it (SetHandler push-client):
# the file itself in its two forms (ES module, classic script), its
# caching headers and conditional requests, and what push.js reads from
# the server: OPTIONS's X-Push-Transports and X-Push-WebSocket-Publish,
# and a long poll's X-EventSource-Event.
use strict;
use warnings FATAL => 'all';
use Apache::Test;
use Apache::TestUtil;
use PushTest;
use PushBrowser ();
use JSON::PP ();

plan tests => 29;

my $root = Apache::Test::config()->{vars}{serverroot};
my $file = do {
    open my $fh, '<:raw', "$root/../client/push.js" or die "client/push.js: $!";
    local $/;
    <$fh>;
};
(my $classic_file = $file) =~ s/\n(export [^\n]*\n?)\z/\n/;
my $export_line = $1 // '';

my $m = request('GET', '/push.js');
ok t_cmp($m->{status}, 200, 'GET /push.js');
ok t_cmp($m->{headers}{'content-type'}, 'text/javascript; charset=utf-8', 'a JavaScript type');
ok t_cmp(length $m->{body}, length $file, 'the module: as long as client/push.js');
ok t_cmp($m->{body} eq $file ? 'same' : 'differs', 'same', 'the module: client/push.js, byte for byte');
ok t_cmp($m->{headers}{etag}, qr/^"[^"]+"$/, 'a strong ETag');
ok t_cmp($m->{headers}{'cache-control'}, 'no-cache', 'kept, and revalidated before each use');
ok t_cmp($m->{headers}{'access-control-allow-origin'}, '*', 'loadable as a module from any origin');
ok t_cmp($m->{headers}{vary}, qr/Sec-Fetch-Mode/, 'Vary names what chooses the form');

my $etag = $m->{headers}{etag} // '';
my $again = request('GET', '/push.js', headers => { 'If-None-Match' => $etag });
ok t_cmp($again->{status}, 304, 'If-None-Match with its ETag: 304');
ok t_cmp($again->{body}, '', '304: no body');
ok t_cmp(request('GET', '/push.js', headers => { 'If-None-Match' => '"other"' })->{status},
         200, 'If-None-Match with another ETag: 200');

# A classic <script>: Sec-Fetch-Dest: script, Sec-Fetch-Mode: no-cors.
my %classic = ('Sec-Fetch-Dest' => 'script', 'Sec-Fetch-Mode' => 'no-cors');
my $c = request('GET', '/push.js', headers => \%classic);
ok t_cmp($export_line, qr/^export \{ PushSubscriber \};/, 'client/push.js ends with its export');
ok t_cmp($c->{body} eq $classic_file ? 'the file without its export line' : 'something else',
         'the file without its export line', 'classic script: the file without its export');
ok t_cmp($c->{headers}{etag} ne $etag ? 'differs' : 'same', 'differs', 'classic script: its own ETag');
ok t_cmp(request('GET', '/push.js', headers => { %classic, 'If-None-Match' => $c->{headers}{etag} })->{status},
         304, 'classic script: 304 with its ETag');
ok t_cmp(request('GET', '/push.js?module', headers => \%classic)->{body} eq $file ? 1 : 0,
         1, '?module: the module whatever the request says');
ok t_cmp(request('GET', '/push.js?classic')->{body} eq $classic_file ? 1 : 0,
         1, '?classic: the classic script');
ok t_cmp(request('GET', '/push.js', headers => { 'Sec-Fetch-Dest' => 'script',
                                                'Sec-Fetch-Mode' => 'cors' })->{body} eq $file ? 1 : 0,
         1, 'a module script (cors mode): the module');

my $h = request('HEAD', '/push.js');
ok t_cmp([$h->{status}, $h->{headers}{'content-length'}], [200, length $file], 'HEAD: status, length');
my $p = request('POST', '/push.js', body => 'x');
ok t_cmp([$p->{status}, $p->{headers}{allow}], [405, 'GET, HEAD, OPTIONS'], 'POST: 405 with Allow');
ok t_cmp($p->{body}, qr/push\.js is read with GET/, 'POST: the reason');

# What a client choosing its transport is told (by precedence).
my %where = ('/sub/x' => 'websocket eventsource longpoll', '/wsnone/x' => 'eventsource longpoll',
             '/subnoes/x' => 'longpoll', '/poll/x' => 'poll');
ok t_cmp({ map { $_ => request('OPTIONS', $_)->{headers}{'x-push-transports'} } sort keys %where },
         \%where, 'OPTIONS: X-Push-Transports');
ok t_cmp([map { request('OPTIONS', $_)->{headers}{'x-push-websocket-publish'} // '(none)' }
              qw(/sub/x /wspub/x /poll/x)],
         ['Off', 'On', '(none)'], 'OPTIONS: X-Push-WebSocket-Publish where there is a WebSocket');
my $cors = request('OPTIONS', '/subcors/x', headers => { Origin => 'https://app.example' });
ok t_cmp($cors->{headers}{'access-control-expose-headers'}, qr/X-Push-Transports/,
         'CORS: X-Push-Transports exposed');

# A long poll passes the publisher's event name on, as it does its type.
my $ch = fresh_channel('lpev');
publish($ch, 'kick-off', headers => { 'X-EventSource-Event' => 'start' });
publish($ch, 'no name');
my $a = request('GET', "/sub/$ch");
ok t_cmp([$a->{status}, $a->{headers}{'x-eventsource-event'}], [200, 'start'],
         'long poll: X-EventSource-Event');
my $b = request('GET', "/sub/$ch", headers => { 'Last-Event-ID' => $a->{headers}{'x-push-message-id'} });
ok t_cmp([$b->{body}, $b->{headers}{'x-eventsource-event'} // '(none)'], ['no name', '(none)'],
         'long poll: no event name, no header');
ok t_cmp($cors->{headers}{'access-control-expose-headers'}, qr/X-EventSource-Event/,
         'CORS: X-EventSource-Event exposed');

# The same file as a bundler takes it: client/package.json names files
# that exist, and Node imports the module (no browser globals needed).
my $pkg = eval {
    open my $fh, '<', "$root/../client/package.json" or die;
    local $/;
    JSON::PP::decode_json(<$fh>);
} || {};
ok t_cmp({ map { $_ => (defined $pkg->{$_} && -f "$root/../client/$pkg->{$_}") ? 'exists' : 'missing' }
           qw(main module types) },
         { main => 'exists', module => 'exists', types => 'exists' },
         'client/package.json: main, module and types name its files');
if (my $node = PushBrowser::node()) {
    my $js = "import('$root/../client/push.js').then((m) => { const s = new m.PushSubscriber("
        . "'http://example.test/sub/room7'); console.log(typeof m.PushSubscriber, s.channel, "
        . "s.transport, m.PushSubscriber.TRANSPORTS.join()); })";
    my $out = `'$node' -e "$js" 2>&1`;
    chomp $out;
    ok t_cmp($out, 'function room7 null websocket,eventsource,longpoll,poll',
             'Node imports client/push.js as a module');
}
else {
    skip('Node.js 18 or later is not here', 1);
}
