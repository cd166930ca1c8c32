# push-publisher: publish, channel info, delete, methods, limits, errors.
use strict;
use warnings FATAL => 'all';
use Apache::Test;
use Apache::TestUtil;
use PushTest;

plan tests => 53;

my $ch = fresh_channel('pub');

# A channel nobody has used does not exist.
my $r = request('GET', "/pub/$ch");
ok t_cmp($r->{status}, 404, 'GET of an unused channel: status');
ok t_cmp($r->{headers}{'content-type'}, qr{^text/plain}, '404: Content-Type');
ok t_cmp($r->{body}, qr/not found/, '404: reason');
ok t_cmp(request('DELETE', "/pub/$ch")->{status}, 404,
         'DELETE of an unused channel');

# Publishing with no subscriber: 202 and JSON channel info.
$r = publish($ch, "hello", headers => { 'Content-Type' => 'text/x-greeting' });
ok t_cmp($r->{status}, 202, 'publish without subscribers: status');
ok t_cmp($r->{headers}{'content-type'}, 'application/json',
         'publish: Content-Type of the channel info');
my $info = json($r->{body});
ok t_cmp($info->{channel}, $ch, 'info: channel');
ok t_cmp($info->{messages}, 1, 'info: messages');
ok t_cmp($info->{subscribers}, 0, 'info: subscribers');
ok t_cmp($info->{last_message_id}, qr/^\d+:0$/, 'info: first id of its second');
my ($t0) = $info->{last_message_id} =~ /^(\d+):/;
ok t_num(defined $t0 ? abs($t0 - time) : undef, '<=', 5,
         'seconds between the id\'s time and now');
ok t_cmp($r->{headers}{'x-push-message-id'}, $info->{last_message_id},
         'X-Push-Message-Id is the new id');

# Ids in one second count up; never repeat.
my %seen = ($info->{last_message_id} => 1);
my $dups = 0;
my $prev = $info->{last_message_id};
my $disorder = '';
for my $i (1 .. 20) {
    my $id = json(publish($ch, "m$i")->{body})->{last_message_id};
    $dups++ if $seen{$id}++;
    my ($pt, $pn) = split /:/, $prev;
    my ($t, $n) = split /:/, $id;
    $disorder ||= "$prev then $id"
        unless $t > $pt || ($t == $pt && $n == $pn + 1);
    $prev = $id;
}
ok t_cmp($dups, 0, 'repeated ids');
ok t_cmp($disorder, '', 'ids count up (first pair out of order)');

# GET gives the info.
$r = request('GET', "/pub/$ch");
ok t_cmp($r->{status}, 200, 'GET of the channel info: status');
$info = json($r->{body});
ok t_cmp($info->{messages}, 21, 'info: messages after 21 publishes');
ok t_cmp($info->{last_message_id}, $prev, 'info: last_message_id');

# The subscriber gets the body verbatim, with its Content-Type.
$r = request('GET', "/sub/$ch");
ok t_cmp($r->{status}, 200, 'subscriber: status');
ok t_cmp($r->{body}, 'hello', 'subscriber: body verbatim');
ok t_cmp($r->{headers}{'content-type'}, 'text/x-greeting',
         'subscriber: the published Content-Type');

# Binary bodies and PUT.
my $bin = join '', map { chr } 0 .. 255;
$r = request('PUT', "/pub/$ch", body => $bin,
             headers => { 'Content-Type' => 'application/octet-stream' });
ok t_cmp($r->{status}, 202, 'PUT of a binary body: status');
my $lastid = json($r->{body})->{last_message_id};
my ($lt, $ln) = split /:/, $prev;
$r = request('GET', "/sub/$ch", headers => { 'Last-Event-ID' => $prev });
ok t_cmp($r->{status}, 200, 'binary message: subscriber status');
ok t_cmp($r->{body}, $bin, 'binary message: body byte for byte');

# Chunked request bodies are accepted.
$r = request('POST', "/pub/$ch", chunked => ['abc', 'def']);
ok t_cmp($r->{status}, 202, 'chunked publish: status');
$r = request('GET', "/sub/$ch", headers => { 'Last-Event-ID' => $lastid });
ok t_cmp($r->{body}, 'abcdef', 'chunked publish: the whole body');

# An empty message is still a message.
ok t_cmp(publish($ch, '')->{status}, 202, 'empty message: status');

# DELETE: 200 with the info it had, then gone.
$r = request('DELETE', "/pub/$ch");
ok t_cmp($r->{status}, 200, 'DELETE: status');
ok t_num(json($r->{body})->{messages}, '>', 0, 'DELETE: messages it had');
ok t_cmp(request('GET', "/pub/$ch")->{status}, 404, 'GET after DELETE');
ok t_cmp(request('DELETE', "/pub/$ch")->{status}, 404, 'DELETE after DELETE');

# Methods other than GET/POST/PUT/DELETE/OPTIONS: 405 with Allow.
$r = request('PATCH', "/pub/$ch", body => 'x');
ok t_cmp($r->{status}, 405, 'PATCH: status');
ok t_cmp($r->{headers}{allow}, qr/POST/, 'PATCH: Allow has POST');
ok t_cmp($r->{headers}{allow}, qr/DELETE/, 'PATCH: Allow has DELETE');
ok t_cmp($r->{body}, qr/not allowed/, 'PATCH: reason');

# Bad channel ids: 400 with a reason.
for my $bad (['bad%0Aid', qr/control characters/], ['caf%C3', qr/UTF-8/],
             [('x' x 1025), qr/too long/]) {
    $r = request('POST', "/pub/$bad->[0]", body => 'x');
    my $name = length $bad->[0] > 20 ? length($bad->[0]) . ' characters' : $bad->[0];
    ok t_cmp($r->{status}, 400, "channel id $name: status");
    ok t_cmp($r->{body}, $bad->[1], "channel id $name: reason");
}
ok t_cmp(publish('x' x 1024, 'longest')->{status}, 202,
         'a 1024-character channel id');
ok t_cmp(request('DELETE', '/pub/' . ('x' x 1024))->{status}, 200,
         'DELETE of the 1024-character channel');
ok t_cmp(publish('A-z_0.9~:@', 'charset')->{status}, 202,
         'characters of the old rule and nchan\'s');

# Over PushMaxMessageSize (1K here): 413, by Content-Length or chunked.
$r = request('POST', "/pubtiny/$ch", body => 'y' x 1025);
ok t_cmp($r->{status}, 413, 'over the size by Content-Length: status');
ok t_cmp($r->{body}, qr/too large/i, 'over the size: reason');
$r = request('POST', "/pubtiny/$ch", chunked => [('z' x 600), ('z' x 600)]);
ok t_cmp($r->{status}, 413, 'over the size, chunked: status');
ok t_cmp(request('POST', "/pubtiny/$ch", body => 'y' x 1024)->{status}, 202,
         'exactly the size');

# Event names must fit on one line.
$r = request('POST', "/pub/$ch", body => 'e',
             headers => { 'X-EventSource-Event' => 'x' x 300 });
ok t_cmp($r->{status}, 400, 'a 300-character event name');

# Apache's own access control guards the publisher.
ok t_cmp(request('POST', "/pubdenied/$ch", body => 'no')->{status}, 403,
         'publisher behind Require all denied');

# Channel from a <LocationMatch> named group via PushChannel.
my $mch = fresh_channel('match');
$r = request('POST', "/chan/$mch/pub", body => 'matched');
ok t_cmp($r->{status}, 202, 'PushChannel from a named group: publish status');
ok t_cmp(($r->{status} // '') eq '202' ? json($r->{body})->{channel} : undef, $mch,
         'PushChannel from a named group: the channel');
$r = request('GET', "/chan/$mch/sub");
ok t_cmp($r->{status}, 200, 'PushChannel from a named group: subscriber status');
ok t_cmp($r->{body}, 'matched', 'PushChannel from a named group: the message');
