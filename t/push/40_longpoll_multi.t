# PushLongPollMultipart (nchan's nchan_longpoll_multipart_response): a
# long poll whose cursor is behind several messages gets them all in one
# answer, as multipart/mixed parts (each with its Content-Type) or, with
# "raw", each followed by PushRawStreamSeparator; the answer's cursor
# (Last-Modified, Etag, X-Push-Message-Id) is the last one's.  One message
# waiting is answered as usual.
use strict;
use warnings FATAL => 'all';
use Apache::Test;
use Apache::TestUtil;
use PushTest;

plan tests => 10;

sub cursor_of { my $r = shift; ('If-Modified-Since' => $r->{headers}{'last-modified'},
                               'If-None-Match' => $r->{headers}{etag}) }

my $ch = fresh_channel('lpm');
my $first = publish($ch, 'zero');
my $start = request('GET', "/lpmulti/$ch", timeout => 5);
ok t_cmp("$start->{status} $start->{body}", '200 zero', 'one message waiting: a plain answer');

my @ids = map { publish($ch, $_->[0], headers => { 'Content-Type' => $_->[1] })
                    ->{headers}{'x-push-message-id'} }
          ['one', 'text/plain'], ['{"two":2}', 'application/json'], ['three', 'text/x-three'];
my $m = request('GET', "/lpmulti/$ch", headers => { cursor_of($start) }, timeout => 5);
my ($b) = ($m->{headers}{'content-type'} // '') =~ /^multipart\/mixed; boundary=(\S+)$/;
ok t_cmp([$m->{status}, defined $b ? 'boundary' : $m->{headers}{'content-type'}],
         [200, 'boundary'], 'three waiting: multipart/mixed with a boundary');
my $want = "--$b\r\nContent-Type: text/plain\r\n\r\none\r\n"
         . "--$b\r\nContent-Type: application/json\r\n\r\n{\"two\":2}\r\n"
         . "--$b\r\nContent-Type: text/x-three\r\n\r\nthree\r\n--$b--\r\n";
ok t_cmp($m->{body}, $want, "the parts, in order, in nchan's framing");
ok t_cmp([$m->{headers}{'x-push-message-id'}, $m->{headers}{'x-push-messages'}],
         [$ids[-1], 3], 'the cursor is the last message, and the count is said');
ok t_cmp($m->{headers}{'content-length'}, length($m->{body}), 'its Content-Length');

# From that cursor the poll waits, and one new message comes plain.
my $next = start_request('GET', "/lpmulti/$ch", headers => { cursor_of($m) });
sleep 0.3;
publish($ch, 'four', headers => { 'Content-Type' => 'text/plain' });
my $n = read_response($next, 10);
ok t_cmp([$n->{status}, $n->{body}, $n->{headers}{'content-type'} // ''],
         [200, 'four', qr{^text/plain}], 'from its cursor: the next message, alone');

# raw: the bodies, each with the separator.
my $raw = request('GET', "/lpraw/$ch", headers => { cursor_of($start) }, timeout => 5);
ok t_cmp([$raw->{status}, $raw->{body}],
         [200, "one\n--\n{\"two\":2}\n--\nthree\n--\nfour\n--\n"], 'raw: each body and the separator');
ok t_cmp($raw->{headers}{'x-push-messages'}, 4, 'raw: four messages');

# Many waiting: one answer holds a bounded number; the next poll the rest.
my $big = fresh_channel('lpm');
publish($big, 'm0', path => "/pubhuge/$big");
my $b0 = request('GET', "/lpmulti/$big", timeout => 5);
publish($big, "m$_", path => "/pubhuge/$big") for 1 .. 300;
my $a1 = request('GET', "/lpmulti/$big", headers => { cursor_of($b0) }, timeout => 10);
my $a2 = request('GET', "/lpmulti/$big", headers => { cursor_of($a1) }, timeout => 10);
ok t_cmp([$a1->{headers}{'x-push-messages'}, $a2->{headers}{'x-push-messages'}], [256, 44],
         '300 waiting: 256, then the other 44');
my @parts = ($a1->{body} . $a2->{body}) =~ /\r\n\r\n(m\d+)\r\n--/g;
ok t_cmp(join(',', @parts), join(',', map { "m$_" } 1 .. 300), 'all 300, in order, once');
