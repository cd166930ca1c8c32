# push-publisher: publish, channel info, delete, methods, limits, errors.
use strict;
use warnings FATAL => 'all';
use Apache::Test;
use Apache::TestUtil;
use PushTest;

plan tests => 46;

my $ch = fresh_channel('pub');

# A channel nobody has used does not exist.
my $r = request('GET', "/pub/$ch");
ok $r->{status} == 404;
ok $r->{headers}{'content-type'} =~ m{^text/plain};
ok $r->{body} =~ /not found/;
ok request('DELETE', "/pub/$ch")->{status} == 404;

# Publishing with no subscriber: 202 and JSON channel info.
$r = publish($ch, "hello", headers => { 'Content-Type' => 'text/x-greeting' });
ok $r->{status} == 202;
ok $r->{headers}{'content-type'} eq 'application/json';
my $info = json($r->{body});
ok $info->{channel} eq $ch;
ok $info->{messages} == 1;
ok $info->{subscribers} == 0;
ok $info->{last_message_id} =~ /^\d+:0$/;
my ($t0) = $info->{last_message_id} =~ /^(\d+):/;
ok abs($t0 - time) <= 5;
ok $r->{headers}{'x-push-message-id'} eq $info->{last_message_id};

# Ids in one second count up; never repeat.
my %seen = ($info->{last_message_id} => 1);
my $dups = 0;
my $prev = $info->{last_message_id};
my $ordered = 1;
for my $i (1 .. 20) {
    my $id = json(publish($ch, "m$i")->{body})->{last_message_id};
    $dups++ if $seen{$id}++;
    my ($pt, $pn) = split /:/, $prev;
    my ($t, $n) = split /:/, $id;
    $ordered = 0 unless $t > $pt || ($t == $pt && $n == $pn + 1);
    $prev = $id;
}
ok $dups == 0;
ok $ordered;

# GET gives the info.
$r = request('GET', "/pub/$ch");
ok $r->{status} == 200;
$info = json($r->{body});
ok $info->{messages} == 21;
ok $info->{last_message_id} eq $prev;

# The subscriber gets the body verbatim, with its Content-Type.
$r = request('GET', "/sub/$ch");
ok $r->{status} == 200;
ok $r->{body} eq 'hello';
ok $r->{headers}{'content-type'} eq 'text/x-greeting';

# Binary bodies and PUT.
my $bin = join '', map { chr } 0 .. 255;
$r = request('PUT', "/pub/$ch", body => $bin,
             headers => { 'Content-Type' => 'application/octet-stream' });
ok $r->{status} == 202;
my $lastid = json($r->{body})->{last_message_id};
my ($lt, $ln) = split /:/, $prev;
$r = request('GET', "/sub/$ch", headers => { 'Last-Event-ID' => $prev });
ok $r->{status} == 200;
ok $r->{body} eq $bin;

# Chunked request bodies are accepted.
$r = request('POST', "/pub/$ch", chunked => ['abc', 'def']);
ok $r->{status} == 202;
$r = request('GET', "/sub/$ch", headers => { 'Last-Event-ID' => $lastid });
ok $r->{body} eq 'abcdef';

# An empty message is still a message.
ok publish($ch, '')->{status} == 202;

# DELETE: 200 with the info it had, then gone.
$r = request('DELETE', "/pub/$ch");
ok $r->{status} == 200;
ok json($r->{body})->{messages} > 0;
ok request('GET', "/pub/$ch")->{status} == 404;
ok request('DELETE', "/pub/$ch")->{status} == 404;

# Methods other than GET/POST/PUT/DELETE/OPTIONS: 405 with Allow.
$r = request('PATCH', "/pub/$ch", body => 'x');
ok $r->{status} == 405;
ok $r->{headers}{allow} =~ /POST/ && $r->{headers}{allow} =~ /DELETE/;
ok $r->{body} =~ /not allowed/;

# Bad channel ids: 400 with a reason.
for my $bad ('bad%20id', 'a*b', ('x' x 256)) {
    $r = request('POST', "/pub/$bad", body => 'x');
    ok $r->{status} == 400 && $r->{body} =~ /Invalid channel id/;
}
ok publish('x' x 255, 'longest')->{status} == 202;
ok request('DELETE', '/pub/' . ('x' x 255))->{status} == 200;
ok publish('A-z_0.9~', 'charset')->{status} == 202;

# Over PushMaxMessageSize (1K here): 413, by Content-Length or chunked.
$r = request('POST', "/pubtiny/$ch", body => 'y' x 1025);
ok $r->{status} == 413 && $r->{body} =~ /too large/i;
$r = request('POST', "/pubtiny/$ch", chunked => [('z' x 600), ('z' x 600)]);
ok $r->{status} == 413;
ok request('POST', "/pubtiny/$ch", body => 'y' x 1024)->{status} == 202;

# Event names must fit on one line.
$r = request('POST', "/pub/$ch", body => 'e',
             headers => { 'X-EventSource-Event' => 'x' x 300 });
ok $r->{status} == 400;

# Apache's own access control guards the publisher.
ok request('POST', "/pubdenied/$ch", body => 'no')->{status} == 403;

# Channel from a <LocationMatch> named group via PushChannel.
my $mch = fresh_channel('match');
$r = request('POST', "/chan/$mch/pub", body => 'matched');
ok $r->{status} == 202 && json($r->{body})->{channel} eq $mch;
$r = request('GET', "/chan/$mch/sub");
ok $r->{status} == 200 && $r->{body} eq 'matched';
