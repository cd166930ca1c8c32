# nchan's other streaming transports, each a room of the transport table:
#   chunked          (TE: chunked) one chunk a message, the body as published
#   multipart-mixed  (Accept: multipart/mixed) one part a message, with
#                    Last-Modified, Etag and Content-Type, resumable
#   http-raw-stream  the bodies, each followed by PushRawStreamSeparator
# A request that does not ask for them gets the location's long poll.
use strict;
use warnings FATAL => 'all';
use Apache::Test;
use Apache::TestUtil;
use PushTest;
use Time::HiRes qw(time);
use HTTP::Date ();

plan tests => 14;

sub open_stream {
    my ($path, %h) = @_;
    my $c = start_request('GET', $path, headers => \%h);
    my ($status, undef, $hd) = PushTest::read_head($c, time + 10) or return undef;
    @$c{qw(status headers)} = ($status, $hd);
    $c->{chunked} = ($hd->{'transfer-encoding'} || '') =~ /chunked/i;
    $c->{text} = '';
    return $c;
}

# The next $n chunks (HTTP/1.1 chunked), as they came.
sub chunks {
    my ($c, $n, $timeout) = @_;
    my $deadline = time + ($timeout || 5);
    my @got;
    while (@got < $n) {
        if ($c->{buf} =~ /^([0-9a-fA-F]+)[^\r]*\r\n/) {
            my ($len, $hl) = (hex $1, length $&);
            if (length($c->{buf}) >= $hl + $len + 2) {
                push @got, substr($c->{buf}, $hl, $len);
                substr($c->{buf}, 0, $hl + $len + 2) = '';
                last if $len == 0;
                next;
            }
        }
        PushTest::_fill($c, $deadline) or last;
    }
    return \@got;
}

# The body text until it holds $re (dechunked).
sub text_until {
    my ($c, $re, $timeout) = @_;
    my $deadline = time + ($timeout || 5);
    for (;;) {
        PushTest::_dechunk($c);
        return $c->{text} if $c->{text} =~ $re;
        PushTest::_fill($c, $deadline) or return $c->{text};
    }
}

# --- chunked ---
my $ch = fresh_channel('chunk');
my $c = open_stream("/chunk/$ch", TE => 'chunked');
ok t_cmp([$c->{status}, $c->{chunked} ? 'chunked' : 'not chunked'], [200, 'chunked'], 'TE: chunked: a chunked stream');
wait_for(sub { json(request('GET', "/pub/$ch")->{body})->{subscribers} == 1 }, 10);
publish($ch, $_) for "first", "two\nlines", "x" x 5000;
ok t_cmp([map { length > 20 ? length : $_ } @{ chunks($c, 3) }], ['first', "two\nlines", 5000],
         'chunked: a chunk a message, the body as published');
close $c->{sock};
my $lp = request('GET', "/chunk/$ch", timeout => 5);
ok t_cmp("$lp->{status} $lp->{body}", '200 first', 'no TE: chunked: the long poll answers');

# --- multipart/mixed ---
my $mch = fresh_channel('mp');
my $m = open_stream("/mp/$mch", Accept => 'multipart/mixed');
my ($boundary) = ($m->{headers}{'content-type'} || '') =~ /^multipart\/mixed; boundary=(\S+)$/;
ok t_cmp($boundary, qr/^[0-9a-f]{32}$/, 'multipart/mixed with a boundary');
my @ids = map { publish($mch, @$_)->{headers}{'x-push-message-id'} }
    ['part one', headers => { 'Content-Type' => 'text/x-one' }], ['part two'];
my $text = text_until($m, qr/part two\r\n--\Q$boundary\E/);
ok t_cmp(substr($text, 0, length($boundary) + 2), "--$boundary", 'the stream opens with the boundary');
my @parts = split /\r\n--\Q$boundary\E/, substr($text, length($boundary) + 2);
sub part {
    my ($p) = @_;
    my ($head, $body) = $p =~ /^\r\n(.*?)\r\n\r\n(.*)$/s or return { raw => $p };
    my %h = map { /^([^:]+): (.*)$/ ? (lc $1 => $2) : () } split /\r\n/, $head;
    return { %h, body => $body };
}
my ($p1, $p2) = map { part($_) } @parts;
my ($t1, $n1) = split /:/, $ids[0];
ok t_cmp([$p1->{body}, $p1->{'content-type'}, $p1->{etag}, $p1->{'last-modified'}],
         ['part one', 'text/x-one', $n1, HTTP::Date::time2str($t1)],
         'a part: Last-Modified and Etag of its id, its Content-Type, its body');
ok t_cmp([$p2->{body}, exists $p2->{'content-type'} ? 'typed' : 'untyped'], ['part two', 'untyped'],
         'a part without a type has no Content-Type');
# Resumed from a part's Last-Modified and Etag, as a long poll is.
my $r = open_stream("/mp/$mch", Accept => 'multipart/mixed',
                    'If-Modified-Since' => $p1->{'last-modified'}, 'If-None-Match' => $p1->{etag});
my $rt = text_until($r, qr/part two/);
ok t_cmp(($rt =~ /part one/ ? 'repeats' : 'resumes') . ($rt =~ /part two/ ? ' with part two' : ''),
         'resumes with part two', 'resumed from Last-Modified + Etag');
close $r->{sock};
request('DELETE', "/pub/$mch");
my $end = text_until($m, qr/--\r\n\z/);
ok t_cmp(substr($end, -(length($boundary) + 8)), "\r\n--$boundary--\r\n", 'a delete closes the multipart body');
close $m->{sock};
my $pch = fresh_channel('mpnone');
my $plain = start_request('GET', "/mp/$pch");
wait_for(sub { my $x = request('GET', "/pub/$pch"); $x->{status} == 200 && json($x->{body})->{subscribers} == 1 }, 10);
publish($pch, 'to the long poll');
my $pr = read_response($plain, 10);
close $plain->{sock};
ok t_cmp($pr ? "$pr->{status} " . ($pr->{headers}{'content-type'} // '-') . " $pr->{body}" : 'no answer',
         qr{^200 (?!multipart)\S+ to the long poll$}, 'no Accept: multipart/mixed: the long poll answers, one message');

# --- http-raw-stream ---
my $rch = fresh_channel('raw');
publish($rch, 'before');
my $w = open_stream("/raw/$rch");
ok t_cmp([$w->{status}, $w->{headers}{'content-type'}], [200, 'text/plain'], 'http-raw-stream: a stream for any GET');
publish($rch, $_) for 'after', '';
ok t_cmp(text_until($w, qr/after\n\n/), "before\nafter\n\n", 'the bodies, each followed by a newline (an empty one too)');
close $w->{sock};
my $sep = open_stream("/rawsep/$rch");
ok t_cmp(text_until($sep, qr/after\r\n--\r\n\r\n--\r\n/), "before\r\n--\r\nafter\r\n--\r\n\r\n--\r\n",
         'PushRawStreamSeparator "\r\n--\r\n"');
close $sep->{sock};
ok t_cmp(request('OPTIONS', "/raw/$rch")->{headers}{'x-push-transports'}, 'http-raw-stream',
         'OPTIONS: X-Push-Transports says http-raw-stream');
