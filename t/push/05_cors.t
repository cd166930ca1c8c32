# CORS with PushAllowOrigin (and none without it).
use strict;
use warnings FATAL => 'all';
use Apache::Test;
use Apache::TestUtil;
use PushTest;
use PushWS;

plan tests => 21;

my $ch = fresh_channel('cors');
publish($ch, 'c');

my $r = request('OPTIONS', "/subcors/$ch", headers => {
    Origin => 'https://app.example',
    'Access-Control-Request-Method' => 'GET',
    'Access-Control-Request-Headers' => 'last-event-id' });
ok t_cmp($r->{status}, 204, 'preflight: status');
ok t_cmp($r->{headers}{'access-control-allow-origin'}, 'https://app.example',
         'preflight: Access-Control-Allow-Origin');
ok t_cmp($r->{headers}{'access-control-allow-credentials'}, 'true',
         'preflight: Access-Control-Allow-Credentials');
ok t_cmp($r->{headers}{'access-control-allow-methods'}, qr/GET/,
         'preflight: Access-Control-Allow-Methods has GET');
ok t_cmp($r->{headers}{'access-control-allow-headers'}, qr/Last-Event-ID/i,
         'preflight: Access-Control-Allow-Headers has Last-Event-ID');
ok t_cmp($r->{headers}{'access-control-allow-headers'}, qr/If-None-Match/i,
         'preflight: Access-Control-Allow-Headers has If-None-Match');

$r = request('GET', "/subcors/$ch", headers => { Origin => 'https://app.example' });
ok t_cmp($r->{status}, 200, 'GET with an allowed Origin: status');
ok t_cmp($r->{headers}{'access-control-allow-origin'}, 'https://app.example',
         'GET: Access-Control-Allow-Origin');
ok t_cmp($r->{headers}{'access-control-expose-headers'}, qr/Etag/,
         'GET: Access-Control-Expose-Headers has Etag');
ok t_cmp($r->{headers}{'access-control-expose-headers'}, qr/Last-Modified/,
         'GET: Access-Control-Expose-Headers has Last-Modified');

# A disallowed origin gets no CORS headers.
$r = request('GET', "/subcors/$ch", headers => { Origin => 'https://evil.example' });
ok t_cmp($r->{headers}{'access-control-allow-origin'}, undef,
         'GET from a disallowed origin: no Access-Control-Allow-Origin');
$r = request('OPTIONS', "/subcors/$ch", headers => { Origin => 'https://evil.example',
    'Access-Control-Request-Method' => 'GET' });
ok t_cmp($r->{headers}{'access-control-allow-origin'}, undef,
         'preflight from a disallowed origin: no Access-Control-Allow-Origin');

# No PushAllowOrigin: no CORS headers at all.
$r = request('GET', "/sub/$ch", headers => { Origin => 'https://app.example' });
ok t_cmp($r->{status}, 200, 'no PushAllowOrigin: status');
ok t_cmp($r ? $r->{headers}{'access-control-allow-origin'} : 'no response', undef,
         'no PushAllowOrigin: no Access-Control-Allow-Origin');

# The publisher answers preflights too.
$r = request('OPTIONS', "/pub/$ch");
ok t_cmp($r->{status}, 204, 'publisher preflight: status');
ok t_cmp($r->{headers}{allow}, qr/POST/, 'publisher preflight: Allow has POST');

# --- PushAllowOrigin echo: any origin named back, with credentials (as
#     nchan does by default). ---
my $ech = fresh_channel('echo');
publish($ech, 'e');
my $e = request('GET', "/subecho/$ech", headers => { Origin => 'https://anywhere.example:8443' });
ok t_cmp([$e->{status}, $e->{headers}{'access-control-allow-origin'},
          $e->{headers}{'access-control-allow-credentials'}],
         [200, 'https://anywhere.example:8443', 'true'], 'echo: the Origin named back, with credentials');
ok t_cmp($e->{headers}{vary}, qr/Origin/, 'echo: Vary: Origin');
my $ep = request('OPTIONS', "/subecho/$ech", headers => {
    Origin => 'http://other.test', 'Access-Control-Request-Method' => 'GET' });
ok t_cmp([$ep->{status}, $ep->{headers}{'access-control-allow-origin'}],
         [204, 'http://other.test'], 'echo: preflight');
my $ew = ws_connect("/subecho/$ech", headers => { Origin => 'https://anywhere.example' });
ok t_cmp($ew && $ew->{status}, 101, 'echo: a WebSocket from any origin');
close $ew->{sock} if $ew;
my $no = request('GET', "/subecho/$ech", headers => { 'Last-Event-ID' => '0:0' });
ok t_cmp($no->{headers}{'access-control-allow-origin'}, undef, 'echo: no Origin, no CORS headers');
