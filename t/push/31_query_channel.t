# nchan's getting-started form, the channel id in the query string
# (/sub?id=foo): the recipe of conf/example.conf (SetEnvIfExpr, then
# PushChannel "%{unescape:%{env:PUSH_CH}}") on a publisher and a
# subscriber, the id %-decoded, and a request whose query names no id is
# refused with 400, never sent to a channel of some other name.
use strict;
use warnings FATAL => 'all';
use Apache::Test;
use Apache::TestUtil;
use PushTest;

plan tests => 8;

my $ch = fresh_channel('q');
my $p = request('POST', "/qpub?id=$ch", body => 'by query');
ok t_cmp($p->{status}, 202, 'POST /qpub?id=CH: published');
ok t_cmp(json(request('GET', "/pub/$ch")->{body})->{messages}, 1, 'to channel CH');
my $s = request('GET', "/qsub?x=1&id=$ch", timeout => 5);
ok t_cmp("$s->{status} $s->{body}", '200 by query', 'GET /qsub?x=1&id=CH: its message');
my $none = request('GET', '/qsub', timeout => 5);
ok t_cmp([$none->{status}, $none->{body}], [400, qr/No channel id/], 'no id in the query: 400 with a reason');
my $enc = request('POST', "/qpub?id=in%3A$ch%20x", body => 'decoded');
ok t_cmp([$enc->{status}, json(request('GET', "/pub/in:$ch%20x")->{body})->{channel}],
         [202, "in:$ch x"], 'an id %-decoded from the query: in%3A..%20x is "in:.. x"');
my $es = request('GET', "/qsub?id=in%3A$ch%20x", timeout => 5);
ok t_cmp("$es->{status} $es->{body}", '200 decoded', 'subscribed by the same encoded id');
my $bad = request('GET', '/qsub?id=a%0Ab', timeout => 5);
ok t_cmp([$bad->{status}, $bad->{body}], [400, qr/control characters/],
         'an id with a control character once decoded (a%0Ab): 400');
my $other = request('POST', '/qpub?ids=x', body => 'y');
ok t_cmp($other->{status}, 400, 'a look-alike argument (ids=): 400, not channel x');
