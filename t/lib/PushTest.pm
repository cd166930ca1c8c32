package PushTest;
# A small raw-socket HTTP/1.1 client for the mod_push suite: tests need to
# hold requests open, read responses incrementally and time them, which a
# high-level client hides.
use strict;
use warnings;

use Exporter 'import';
use IO::Socket::INET ();
use IO::Select ();
use Time::HiRes qw(time sleep);
use JSON::PP ();
use Scalar::Util ();
use Apache::TestRequest ();
use Apache::TestUtil ();

our @EXPORT = qw(conn request publish push_status start_request sse_data
                 subscribers_of
                 read_response fresh_channel wait_for json sse_open
                 sse_event sse_closed ssl_hostport wait_for_value
                 t_num t_true publish_at sse_upto);

my $seq = 0;

sub hostport { Apache::TestRequest::hostport() }

# A channel name no other test (or earlier run) has used.
sub fresh_channel {
    my $tag = shift || 'ch';
    return sprintf "%s-%d-%d-%d", $tag, $$, int(time * 1000) % 100000000,
        ++$seq;
}

sub json { JSON::PP::decode_json($_[0]) }

# host:port of the TLS virtual host (t/conf/ssl/ssl.conf.in).
sub ssl_hostport {
    my $v = Apache::Test::config()->{vhosts}{mod_ssl} or return undef;
    return $v->{hostport};
}

# A connection: { sock => IO::Socket, buf => bytes read but not consumed }.
# conn(ssl => 1) speaks TLS to the mod_ssl virtual host.
sub conn {
    my %o = @_;
    my ($host, $port) = split /:/, ($o{ssl} ? ssl_hostport() : hostport());
    # conn(port => N): another server on this machine (PushServer).
    ($host, $port) = ('127.0.0.1', $o{port}) if $o{port};
    my $sock;
    if ($o{ssl}) {
        require IO::Socket::SSL;
        $sock = IO::Socket::SSL->new(PeerAddr => $host, PeerPort => $port,
                                     SSL_verify_mode => 0, Timeout => 10)
            or die "TLS connect to $host:$port: " . IO::Socket::SSL::errstr();
    }
    else {
        $sock = IO::Socket::INET->new(PeerAddr => $host, PeerPort => $port,
                                      Proto => 'tcp', Timeout => 10)
            or die "connect to $host:$port: $!";
    }
    $sock->autoflush(1);
    return { sock => $sock, buf => '', ssl => $o{ssl} };
}

# Sends a request on $c (a new connection unless given).
sub start_request {
    my ($method, $path, %o) = @_;
    my $c = $o{conn} || conn(ssl => $o{ssl}, port => $o{port});
    my $body = defined $o{body} ? $o{body} : undef;
    my $req = "$method $path HTTP/1." . ($o{http10} ? 0 : 1)
        . "\r\nHost: " . hostport() . "\r\n";
    my %h = %{ $o{headers} || {} };
    for my $k (sort keys %h) {
        $req .= "$k: $h{$k}\r\n";
    }
    if (defined $body && !$o{chunked}) {
        $req .= "Content-Length: " . length($body) . "\r\n";
    }
    $req .= "Transfer-Encoding: chunked\r\n" if $o{chunked};
    $req .= "Connection: close\r\n" if $o{close};
    $req .= "\r\n";
    if ($o{chunked}) {
        for my $piece (@{ $o{chunked} }) {
            $req .= sprintf("%x\r\n", length $piece) . $piece . "\r\n";
        }
        $req .= "0\r\n\r\n";
    }
    elsif (defined $body) {
        $req .= $body;
    }
    my $off = 0;
    while ($off < length $req) {
        my $n = syswrite($c->{sock}, $req, length($req) - $off, $off);
        last unless defined $n;    # the server may refuse early (413)
        $off += $n;
    }
    $c->{method} = $method;
    return $c;
}

# Reads more bytes into $c->{buf}; 0 at EOF or timeout.
sub _fill {
    my ($c, $deadline) = @_;
    for (;;) {
        my $left = $deadline - time;
        return 0 if $left <= 0;
        my $sel = IO::Select->new($c->{sock});
        # TLS may hold decrypted bytes that select cannot see.
        return 0 unless ($c->{ssl} && $c->{sock}->pending)
            || $sel->can_read($left);
        # A readable TLS socket may carry no data yet (a TLS 1.3 session
        # ticket, half a record): read it without blocking.
        $c->{sock}->blocking(0) if $c->{ssl};
        my $n = sysread($c->{sock}, my $chunk, 65536);
        my $again = !defined $n && ($!{EAGAIN} || $!{EWOULDBLOCK});
        $c->{sock}->blocking(1) if $c->{ssl};
        if ($n) {
            $c->{buf} .= $chunk;
            return 1;
        }
        return 0 unless $c->{ssl} && $again;
    }
}

# The status line and headers of the next response on $c, taken out of
# its buffer: (status, reason, {lc name => value}, status line), or ()
# at $deadline or EOF.  status is undef when the line is not HTTP's.
sub read_head {
    my ($c, $deadline) = @_;
    while ($c->{buf} !~ /\r\n\r\n/) {
        _fill($c, $deadline) or return ();
    }
    $c->{buf} =~ s/^(.*?)\r\n\r\n//s;
    my ($line, @hl) = split /\r\n/, $1;
    my ($status, $reason) = $line =~ m{^HTTP/1\.\d (\d{3}) ?(.*)$};
    my %h;
    for (@hl) {
        my ($k, $v) = /^([^:]+):\s*(.*)$/ or next;
        $k = lc $k;
        $h{$k} = exists $h{$k} ? "$h{$k}, $v" : $v;
    }
    return ($status, $reason, \%h, $line);
}

# One response from $c, or undef on timeout/EOF: { status, reason,
# headers => {lc name => value}, body, elapsed }.
sub read_response {
    my ($c, $timeout) = @_;
    $timeout ||= 10;
    my $t0 = time;
    my $deadline = $t0 + $timeout;
    my ($status, $reason, $hr, $line) = read_head($c, $deadline)
        or return undef;
    defined $status or die "bad status line: $line";
    my %h = %$hr;
    my $body = '';
    my $no_body = ($c->{method} || '') eq 'HEAD' || $status == 204
        || $status == 304 || $status < 200;
    if ($no_body) {
    }
    elsif (($h{'transfer-encoding'} || '') =~ /chunked/i) {
        for (;;) {
            while ($c->{buf} !~ /\r\n/) { _fill($c, $deadline) or return undef }
            $c->{buf} =~ s/^([0-9a-fA-F]+)[^\r]*\r\n// or die "bad chunk";
            my $len = hex $1;
            while (length($c->{buf}) < $len + 2) {
                _fill($c, $deadline) or return undef;
            }
            $body .= substr($c->{buf}, 0, $len);
            substr($c->{buf}, 0, $len + 2) = '';
            if ($len == 0) { last }
        }
    }
    elsif (defined $h{'content-length'}) {
        my $len = $h{'content-length'};
        while (length($c->{buf}) < $len) {
            _fill($c, $deadline) or return undef;
        }
        $body = substr($c->{buf}, 0, $len);
        substr($c->{buf}, 0, $len) = '';
    }
    else {
        1 while _fill($c, $deadline);
        $body = $c->{buf};
        $c->{buf} = '';
    }
    return { status => $status, reason => $reason, headers => \%h,
             body => $body, elapsed => time - $t0 };
}

# A whole request/response on a fresh connection (or $o{conn}).
sub request {
    my ($method, $path, %o) = @_;
    my $c = start_request($method, $path, %o);
    my $r = read_response($c, $o{timeout} || 10);
    close $c->{sock} unless $o{conn};
    return $r;
}

# Opens an event stream: returns the connection with {status, headers}
# read, the chunked body left to sse_event.
sub sse_open {
    my ($path, %o) = @_;
    my %h = (Accept => 'text/event-stream', %{ $o{headers} || {} });
    my $c = start_request('GET', $path, %o, headers => \%h);
    my ($status, undef, $h) = read_head($c, time + ($o{timeout} || 10))
        or return undef;
    @$c{qw(status headers)} = ($status, $h);
    $c->{chunked} = ($c->{headers}{'transfer-encoding'} || '') =~ /chunked/i;
    $c->{text} = '';
    return $c;
}

# Moves whole chunks from buf to text; sets {ended} at the last chunk.
sub _dechunk {
    my ($c) = @_;
    if (!$c->{chunked}) {
        $c->{text} .= $c->{buf};
        $c->{buf} = '';
        return;
    }
    while ($c->{buf} =~ /^([0-9a-fA-F]+)[^\r]*\r\n/) {
        my ($len, $hl) = (hex $1, length $&);
        last if length($c->{buf}) < $hl + $len + 2;
        $c->{text} .= substr($c->{buf}, $hl, $len);
        substr($c->{buf}, 0, $hl + $len + 2) = '';
        $c->{ended} = 1 if $len == 0;
    }
}

# The next event block: { id, event, data, retry, comments => [...],
# lines => [...] }, or undef on timeout or end of stream.  Comment-only
# blocks are returned too (ping).
sub sse_event {
    my ($c, $timeout) = @_;
    my $deadline = time + ($timeout || 10);
    for (;;) {
        _dechunk($c);
        if ($c->{text} =~ s/^(.*?)(?:\r\n|\r|\n)(?:\r\n|\r|\n)//s) {
            my @lines = split /\r\n|\r|\n/, $1, -1;
            my %ev = (lines => \@lines, comments => []);
            my @data;
            for (@lines) {
                if (/^:(.*)$/) { push @{ $ev{comments} }, $1; next }
                my ($f, $v) = /^([^:]*)(?::\s?(.*))?$/;
                $v = '' unless defined $v;
                if ($f eq 'data') { push @data, $v }
                else { $ev{$f} = $v }
            }
            $ev{data} = join "\n", @data if @data;
            return \%ev;
        }
        return undef if $c->{ended};
        _fill($c, $deadline) or return undef;
    }
}

# The next event that says something (data, or an event name): the
# stream's retry hint and pings are passed over.  undef as sse_event.
sub sse_data {
    my ($c, $timeout) = @_;
    for (1 .. 5) {
        my $e = sse_event($c, $timeout) or return undef;
        return $e if defined $e->{data} || defined $e->{event};
    }
    return undef;
}

# 1 when the server ended the stream (last chunk or EOF) within $timeout.
sub sse_closed {
    my ($c, $timeout) = @_;
    my $deadline = time + ($timeout || 10);
    for (;;) {
        _dechunk($c);
        return 1 if $c->{ended};
        my $left = $deadline - time;
        return 0 if $left <= 0;
        my $sel = IO::Select->new($c->{sock});
        if (($c->{ssl} && $c->{sock}->pending) || $sel->can_read($left)) {
            my $n = sysread($c->{sock}, my $chunk, 65536);
            return 1 unless $n;
            $c->{buf} .= $chunk;
        }
    }
}

sub publish {
    my ($channel, $body, %o) = @_;
    my $path = $o{path} || "/pub/$channel";
    return request('POST', $path, body => $body, headers => $o{headers});
}

# A POST of $body to /pub/$ch on server $port (one of several, a
# backplane's): {status, id, body, took (s), type}; status 0 when no
# answer came.
sub publish_at {
    my ($port, $ch, $body) = @_;
    my $t = time;
    my $r = request('POST', "/pub/$ch", port => $port, body => $body);
    return { status => $r ? $r->{status} : 0, id => $r ? $r->{headers}{'x-push-message-id'} : undef,
             body => $r ? $r->{body} : '', took => time - $t,
             type => $r ? $r->{headers}{'content-type'} // '' : '',
             retry_after => $r ? $r->{headers}{'retry-after'} : undef };
}

# What an event stream gave within $secs, up to $n data events:
# [[id, data, event name ("message" when none)], ...].
sub sse_upto {
    my ($c, $n, $secs) = @_;
    my @got;
    my $until = time + $secs;
    while (@got < $n && time < $until) {
        my $e = sse_event($c, $until - time) or last;
        push @got, [$e->{id}, $e->{data}, $e->{event} // 'message'] if defined $e->{data};
    }
    return @got;
}

# A channel's subscribers, as its publisher location (/pub) counts them;
# 0 while the channel does not exist (its first subscriber may still be
# on its way), for wait_for_value.
sub subscribers_of {
    my ($ch) = @_;
    my $r = request('GET', "/pub/$ch", headers => { Accept => 'application/json' });
    return $r->{status} == 200 ? json($r->{body})->{subscribers} : 0;
}

sub push_status {
    my $r = request('GET', '/status');
    return json($r->{body});
}

# Polls $cond every 20 ms until it is true or $timeout passes.
sub wait_for {
    my ($cond, $timeout) = @_;
    my $deadline = time + ($timeout || 5);
    while (time < $deadline) {
        return 1 if $cond->();
        sleep 0.02;
    }
    return $cond->() ? 1 : 0;
}

# wait_for on a value: polls $get until it returns $want (compared as
# strings, as t_cmp does) or $timeout passes, and returns the last value
# it returned, for ok t_cmp(wait_for_value(...), $want, ...) to show.
sub wait_for_value {
    my ($get, $want, $timeout) = @_;
    my $got;
    wait_for(sub { $got = $get->(); defined $got && $got eq $want }, $timeout);
    return $got;
}

# For ok(), the way t_cmp is: true when the number $got OP $bound holds
# (OP: < <= > >= !=), printing what was expected and what was received.
# An undefined or non-numeric $got fails.
sub t_num ($$$;$) {
    my ($got, $op, $bound, $comment) = @_;
    Apache::TestUtil::t_debug("testing : $comment") if defined $comment;
    Apache::TestUtil::t_debug("expected: $op $bound");
    Apache::TestUtil::t_debug("received: " . (defined $got ? $got : 'undef'));
    return 0 unless defined $got && Scalar::Util::looks_like_number($got);
    return $op eq '<'  ? $got <  $bound
         : $op eq '<=' ? $got <= $bound
         : $op eq '>'  ? $got >  $bound
         : $op eq '>=' ? $got >= $bound
         : $op eq '!=' ? $got != $bound
         : die "t_num: unknown operator '$op'";
}

# For ok(): true when $got is (Perl's truth), printing what was received.
sub t_true ($;$) {
    my ($got, $comment) = @_;
    Apache::TestUtil::t_debug("testing : $comment") if defined $comment;
    Apache::TestUtil::t_debug("expected: a true value");
    Apache::TestUtil::t_debug("received: " . (defined $got ? "'$got'" : 'undef'));
    return $got ? 1 : 0;
}

1;
