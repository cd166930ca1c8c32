package PushWS;
# A small RFC 6455 client for the suite: it can send anything, including
# the malformed frames a server must refuse.
use strict;
use warnings;

use Exporter 'import';
use Digest::SHA qw(sha1_base64);
use MIME::Base64 qw(encode_base64);
use IO::Select ();
use Time::HiRes qw(time);
use Compress::Raw::Zlib qw(Z_SYNC_FLUSH);
use PushTest ();

our @EXPORT = qw(ws_connect ws_send ws_send_raw ws_frame ws_recv ws_recv_data
                 ws_close_payload ws_eof deflate_raw inflate_raw);

use constant GUID => '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

sub _key { encode_base64(join('', map { chr int rand 256 } 1 .. 16), '') }

# Opens a WebSocket: returns the connection with {status, headers, key}.
# Options: headers => {...} (override or add), protocol, extensions, ssl,
# raw_request (send exactly this instead).
sub ws_connect {
    my ($path, %o) = @_;
    my $key = _key();
    my %h = (Upgrade => 'websocket', Connection => 'Upgrade',
             'Sec-WebSocket-Key' => $key, 'Sec-WebSocket-Version' => 13);
    $h{'Sec-WebSocket-Protocol'} = $o{protocol} if $o{protocol};
    $h{'Sec-WebSocket-Extensions'} = $o{extensions} if $o{extensions};
    %h = (%h, %{ $o{headers} || {} });
    delete $h{$_} for grep { !defined $h{$_} } keys %h;
    my $c = PushTest::start_request($o{method} || 'GET', $path, %o,
                                    headers => \%h);
    my $deadline = time + ($o{timeout} || 10);
    my ($status, undef, $h) = PushTest::read_head($c, $deadline)
        or return undef;
    @$c{qw(status headers)} = ($status, $h);
    $c->{key} = $key;
    $c->{expected_accept} = sha1_base64($key . GUID) . '=';
    if ($c->{status} != 101) {
        # The refusal's body, for the reason.
        my $len = $c->{headers}{'content-length'} || 0;
        while (length($c->{buf}) < $len) {
            PushTest::_fill($c, $deadline) or last;
        }
        $c->{body} = substr($c->{buf}, 0, $len);
    }
    return $c;
}

# The bytes of one frame.  Options: fin (1), rsv (bits 4..6 as 0..7),
# mask (1), length_bytes (force 2 or 8-byte length encoding), len (lie
# about the length).
sub ws_frame {
    my ($opcode, $payload, %o) = @_;
    $payload = '' unless defined $payload;
    my $fin = exists $o{fin} ? $o{fin} : 1;
    my $mask = exists $o{mask} ? $o{mask} : 1;
    my $b0 = ($fin ? 0x80 : 0) | (($o{rsv} || 0) << 4) | $opcode;
    my $len = defined $o{len} ? $o{len} : length $payload;
    my $m = $mask ? 0x80 : 0;
    my $hdr = chr $b0;
    if ($len < 126 && !$o{length_bytes}) {
        $hdr .= chr($m | $len);
    }
    elsif ($len < 65536 && ($o{length_bytes} || 2) == 2) {
        $hdr .= chr($m | 126) . pack('n', $len);
    }
    else {
        $hdr .= chr($m | 127) . pack('Q>', $len);
    }
    if ($mask) {
        my $k = join '', map { chr int rand 256 } 1 .. 4;
        my $masked = $payload ^ (substr($k x (int(length($payload) / 4) + 1), 0,
                                        length $payload));
        return $hdr . $k . $masked;
    }
    return $hdr . $payload;
}

sub ws_send_raw {
    my ($c, $bytes) = @_;
    local $SIG{PIPE} = 'IGNORE';
    my $off = 0;
    while ($off < length $bytes) {
        my $n = syswrite($c->{sock}, $bytes, length($bytes) - $off, $off);
        return 0 unless defined $n;
        $off += $n;
    }
    return 1;
}

sub ws_send { my ($c, @f) = @_; ws_send_raw($c, ws_frame(@f)) }

# The next server frame: {fin, rsv1, opcode, payload, masked}, or undef on
# timeout/EOF.
sub ws_recv {
    my ($c, $timeout) = @_;
    my $deadline = time + ($timeout || 10);
    my $need = sub {
        my $n = shift;
        while (length($c->{buf}) < $n) {
            PushTest::_fill($c, $deadline) or return 0;
        }
        return 1;
    };
    $need->(2) or return undef;
    my ($b0, $b1) = map { ord } split //, substr($c->{buf}, 0, 2);
    my $len = $b1 & 0x7f;
    my $hl = 2;
    if ($len == 126) { $need->(4) or return undef;
                       $len = unpack 'n', substr($c->{buf}, 2, 2); $hl = 4 }
    elsif ($len == 127) { $need->(10) or return undef;
                          $len = unpack 'Q>', substr($c->{buf}, 2, 8); $hl = 10 }
    my $masked = $b1 & 0x80;
    $hl += 4 if $masked;
    $need->($hl + $len) or return undef;
    my $payload = substr($c->{buf}, $hl, $len);
    substr($c->{buf}, 0, $hl + $len) = '';
    return { fin => ($b0 >> 7) & 1, rsv1 => ($b0 >> 6) & 1,
             rsv => ($b0 >> 4) & 7, opcode => $b0 & 0x0f,
             payload => $payload, masked => $masked ? 1 : 0 };
}

# The next data or close frame, answering (and skipping) pings.
sub ws_recv_data {
    my ($c, $timeout) = @_;
    for (;;) {
        my $f = ws_recv($c, $timeout) or return undef;
        if ($f->{opcode} == 9) { ws_send($c, 10, $f->{payload}); next }
        next if $f->{opcode} == 10;
        return $f;
    }
}

# Close payload -> (code, reason).
sub ws_close_payload {
    my ($p) = @_;
    return (undef, '') if length($p) < 2;
    return (unpack('n', substr($p, 0, 2)), substr($p, 2));
}

# 1 when the server closed the TCP connection within $timeout.
sub ws_eof {
    my ($c, $timeout) = @_;
    my $deadline = time + ($timeout || 5);
    for (;;) {
        my $left = $deadline - time;
        return 0 if $left <= 0;
        my $sel = IO::Select->new($c->{sock});
        next unless ($c->{ssl} && $c->{sock}->pending) || $sel->can_read($left);
        my $n = sysread($c->{sock}, my $chunk, 65536);
        return 1 unless $n;
        $c->{buf} .= $chunk;
    }
}


# permessage-deflate payloads (RFC 7692 7.2.1): raw deflate, the trailing
# empty stored block taken off, and put back to inflate.
sub deflate_raw {
    my ($d) = Compress::Raw::Zlib::Deflate->new(-WindowBits => -15, -AppendOutput => 1);
    my $out = '';
    $d->deflate($_[0], $out);
    $d->flush($out, Z_SYNC_FLUSH);
    $out =~ s/\x00\x00\xff\xff$//;
    return $out;
}

sub inflate_raw {
    my ($i) = Compress::Raw::Zlib::Inflate->new(-WindowBits => -15);
    my $in = $_[0] . "\x00\x00\xff\xff";
    my $out = '';
    $i->inflate($in, $out);
    return $out;
}

1;
