# nchan's getting-started form, the channel id in the query string
# (/sub?id=foo): the recipe of conf/example.conf (SetEnvIfExpr, then
# PushChannel "%{env:PUSH_CH}") on a publisher and a subscriber, and a
# request whose query names no id is refused with 400, never sent to a
# channel of some other name.
use strict;
use warnings FATAL => 'all';
use Apache::Test;
use Apache::TestUtil;
use PushTest;

plan tests => 6;

my $ch = fresh_channel('q');
my $p = request('POST', "/qpub?id=$ch", body => 'by query');
ok t_cmp($p->{status}, 202, 'POST /qpub?id=CH: published');
ok t_cmp(json(request('GET', "/pub/$ch")->{body})->{messages}, 1, 'to channel CH');
my $s = request('GET', "/qsub?x=1&id=$ch", timeout => 5);
ok t_cmp("$s->{status} $s->{body}", '200 by query', 'GET /qsub?x=1&id=CH: its message');
my $none = request('GET', '/qsub', timeout => 5);
ok t_cmp([$none->{status}, $none->{body}], [400, qr/channel/i], 'no id in the query: 400 with a reason');
my $bad = request('GET', '/qsub?id=a%2Fb', timeout => 5);
ok t_cmp($bad->{status}, 400, 'an id the recipe does not take (a%2Fb): 400');
my $other = request('POST', '/qpub?ids=x', body => 'y');
ok t_cmp($other->{status}, 400, 'a look-alike argument (ids=): 400, not channel x');
