# A publisher's answer about a channel (POST, GET, DELETE) in the format
# the request's Accept names, as nchan chooses and words it: nchan's text,
# YAML and XML with nchan's field names ("queued messages", "last
# requested", "active subscribers", "last message id"), and mod_push's
# JSON, which has every field of nchan's.  With no format named: JSON, or
# nchan's text where PushChannelInfoFormat text says so.
use strict;
use warnings FATAL => 'all';
use Apache::Test;
use Apache::TestUtil;
use PushTest;

plan tests => 13;

my $ch = fresh_channel('info');
my $id1 = publish($ch, 'one')->{headers}{'x-push-message-id'};
my $p = request('POST', "/pub/$ch", body => 'two', headers => { Accept => 'text/plain' });
my $id2 = $p->{headers}{'x-push-message-id'};
ok t_cmp([$p->{status}, $p->{headers}{'content-type'}], [202, 'text/plain'], 'POST, Accept text/plain: 202, text/plain');
ok t_cmp($p->{body}, "queued messages: 2\r\nlast requested: -1 sec. ago\r\nactive subscribers: 0\r\nlast message id: $id2",
         "nchan's text, no subscriber ever");

# A subscriber comes (a long poll answered at once): "requested" counts from it.
request('GET', "/sub/$ch", timeout => 5);
my $t = request('GET', "/pub/$ch", headers => { Accept => 'text/plain' });
ok t_cmp($t->{body}, qr/\Aqueued messages: 2\r\nlast requested: [0-2] sec\. ago\r\nactive subscribers: 0\r\nlast message id: \Q$id2\E\z/,
         "nchan's text after a subscriber came");

my $j = request('GET', "/pub/$ch", headers => { Accept => 'application/json' });
ok t_cmp($j->{headers}{'content-type'}, 'application/json', 'Accept application/json: application/json');
my $jv = json($j->{body});
ok t_cmp([sort keys %$jv], [sort qw(channel messages requested subscribers last_message_id)],
         "mod_push's JSON: nchan's fields and the channel");
ok t_cmp([$jv->{messages}, $jv->{subscribers}, $jv->{last_message_id}, $jv->{requested} =~ /^[0-2]$/ ? 'recent' : $jv->{requested}],
         [2, 0, $id2, 'recent'], 'JSON: the figures');
ok t_cmp(request('GET', "/pub/$ch", headers => { Accept => 'text/json' })->{headers}{'content-type'},
         'text/json', 'Accept text/json: answered as text/json, as nchan does');

my $y = request('GET', "/pub/$ch", headers => { Accept => 'text/yaml' });
ok t_cmp([$y->{headers}{'content-type'}, $y->{body}],
         ['text/yaml', qr/\A---\r\nmessages: 2\r\nrequested: [0-2]\r\nsubscribers: 0\r\nlast_message_id: "\Q$id2\E"\r\n\r\n\z/],
         "Accept text/yaml: nchan's YAML");
my $x = request('GET', "/pub/$ch", headers => { Accept => 'application/xml' });
ok t_cmp([$x->{headers}{'content-type'}, $x->{body}],
         ['text/xml', qr{\A<\?xml version="1.0" encoding="UTF-8" \?>\r\n<channel>\r\n  <messages>2</messages>\r\n  <requested>[0-2]</requested>\r\n  <subscribers>0</subscribers>\r\n  <last_message_id>\Q$id2\E</last_message_id>\r\n</channel>\z}],
         "Accept application/xml: nchan's XML");
# A browser's Accept: the first element that names a format (xml), as nchan reads it.
ok t_cmp(request('GET', "/pub/$ch", headers => { Accept => 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8' })->{headers}{'content-type'},
         'text/xml', "a browser's Accept: XML, as nchan answers it");

# No format named: JSON here, nchan's text where PushChannelInfoFormat text.
my $d = request('GET', "/pub/$ch", headers => { Accept => '*/*' });
ok t_cmp([$d->{headers}{'content-type'}, $d->{headers}{vary}], ['application/json', qr/Accept/],
         'Accept */*: JSON (PushChannelInfoFormat json), Vary: Accept');
my $n = request('GET', "/pubtext/$ch");
ok t_cmp([$n->{headers}{'content-type'}, $n->{body}], ['text/plain', qr/\Aqueued messages: 2\r\n/],
         "no Accept where PushChannelInfoFormat text: nchan's text");
my $del = request('DELETE', "/pubtext/$ch");
ok t_cmp([$del->{status}, $del->{body}], [200, qr/\Aqueued messages: 2\r\n.*last message id: \Q$id2\E\z/s],
         "DELETE: the channel as it was, in nchan's text");
