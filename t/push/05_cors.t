# CORS with PushAllowOrigin (and none without it).
use strict;
use warnings FATAL => 'all';
use Apache::Test;
use Apache::TestUtil;
use PushTest;

plan tests => 12;

my $ch = fresh_channel('cors');
publish($ch, 'c');

my $r = request('OPTIONS', "/subcors/$ch", headers => {
    Origin => 'https://app.example',
    'Access-Control-Request-Method' => 'GET',
    'Access-Control-Request-Headers' => 'last-event-id' });
ok $r->{status} == 204;
ok $r->{headers}{'access-control-allow-origin'} eq 'https://app.example';
ok $r->{headers}{'access-control-allow-credentials'} eq 'true';
ok $r->{headers}{'access-control-allow-methods'} =~ /GET/;
ok $r->{headers}{'access-control-allow-headers'} =~ /Last-Event-ID/i
   && $r->{headers}{'access-control-allow-headers'} =~ /If-None-Match/i;

$r = request('GET', "/subcors/$ch", headers => { Origin => 'https://app.example' });
ok $r->{status} == 200;
ok $r->{headers}{'access-control-allow-origin'} eq 'https://app.example';
ok $r->{headers}{'access-control-expose-headers'} =~ /Etag/
   && $r->{headers}{'access-control-expose-headers'} =~ /Last-Modified/;

# A disallowed origin gets no CORS headers.
$r = request('GET', "/subcors/$ch", headers => { Origin => 'https://evil.example' });
ok !exists $r->{headers}{'access-control-allow-origin'};
$r = request('OPTIONS', "/subcors/$ch", headers => { Origin => 'https://evil.example',
    'Access-Control-Request-Method' => 'GET' });
ok !exists $r->{headers}{'access-control-allow-origin'};

# No PushAllowOrigin: no CORS headers at all.
$r = request('GET', "/sub/$ch", headers => { Origin => 'https://app.example' });
ok $r->{status} == 200 && !exists $r->{headers}{'access-control-allow-origin'};

# The publisher answers preflights too.
$r = request('OPTIONS', "/pub/$ch");
ok $r->{status} == 204 && $r->{headers}{allow} =~ /POST/;
