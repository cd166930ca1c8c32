# Event streams through mod_ssl (https) and over HTTP/2 (h2 with TLS, h2c
# in clear text), read incrementally.
use strict;
use warnings FATAL => 'all';
use Apache::Test;
use Apache::TestUtil;
use PushTest;
use IO::Select;
use Time::HiRes qw(time sleep);

my $mpm = Apache::Test::config()->{server}{mpm} || '';
my ($curl) = grep { -x } map { "$_/curl" } split /:/, $ENV{PATH};
plan tests => 11, need { 'TLS virtual host' => defined ssl_hostport() };

# --- https: the SSE exchange over TLS. ---
my $ch = fresh_channel('tls');
my $s = sse_open("/sub/$ch", ssl => 1);
ok t_cmp($s && $s->{status}, 200, 'https event stream: status');
ok t_cmp($s->{headers}{'content-type'}, qr{^text/event-stream},
         'https event stream: Content-Type');
sse_event($s, 5);
my $id = json(publish($ch, "over\ntls")->{body})->{last_message_id};
my $ev = sse_event($s, 5);
ok t_cmp($ev && $ev->{id}, $id, 'https event stream: the id');
ok t_cmp($ev && $ev->{data}, "over\ntls", 'https event stream: the data');
# Disconnect over TLS is noticed too.
my $n = json(request('GET', "/pub/$ch")->{body})->{subscribers};
close $s->{sock};
ok t_cmp(wait_for_value(sub { subscribers_of($ch) },
                        $n - 1, 5), $n - 1, 'subscribers once the TLS client hung up');

# --- HTTP/2 with curl, streaming: one event must arrive before the
# next publish.  mod_http2 does not run under prefork. ---
sub h2_stream {
    my ($url, @opts) = @_;
    my $pid = open(my $fh, '-|', $curl, '-sS', '-N', '-v', @opts,
                   '-H', 'Accept: text/event-stream', $url, '--stderr', '-')
        or die "curl: $!";
    return ($pid, $fh);
}
sub read_until {
    my ($fh, $re, $timeout) = @_;
    my $sel = IO::Select->new($fh);
    my $buf = '';
    my $deadline = time + $timeout;
    while (time < $deadline) {
        last unless $sel->can_read($deadline - time);
        my $n = sysread($fh, my $chunk, 4096) or last;
        $buf .= $chunk;
        return $buf if $buf =~ $re;
    }
    return $buf;
}

my $why_not = $mpm eq 'prefork' ? 'mod_http2 is inactive under prefork'
            : !$curl ? 'curl is not installed' : '';
if ($why_not) {
    skip($why_not, 0) for 1 .. 6;
}
else {
    for my $mode (['h2c', 'http://' . PushTest::hostport(), '--http2-prior-knowledge'],
                  ['h2', 'https://' . ssl_hostport(), '--http2', '-k']) {
        my ($name, $base, @opts) = @$mode;
        my $hch = fresh_channel($name);
        my ($pid, $fh) = h2_stream("$base/sub/$hch", @opts);
        my $head = read_until($fh, qr/retry: \d+/, 10);
        ok t_cmp($head, qr{< HTTP/2 200}, "$name: HTTP/2 response");
        my $hid = json(publish($hch, "$name-one")->{body})->{last_message_id};
        my $got = read_until($fh, qr/data: \Q$name\E-one\n\n/, 5);
        ok t_cmp($got, qr/id: \Q$hid\E\ndata: \Q$name\E-one\n\n/, "$name: event");
        publish($hch, "$name-two");
        $got = read_until($fh, qr/data: \Q$name\E-two\n\n/, 5);
        ok t_cmp($got, qr/data: \Q$name\E-two/, "$name: second event");
        kill 'TERM', $pid;
        close $fh;
    }
}
