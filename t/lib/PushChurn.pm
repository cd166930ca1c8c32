package PushChurn;
# Many subscribers at once, of every transport (long poll, event stream,
# ws+meta.nchan WebSocket), on one non-blocking poll(2) loop, against a
# server of its own (PushServer): they connect, receive, and drop (with
# a clean close, a reset, or by vanishing: the socket is kept open and
# never read again), then come back with their cursor, while one
# publisher publishes numbered messages.  Every subscriber checks that
# it got each message after its first exactly once and in order: what a
# publish acknowledged (2xx) and a resuming client did not get is lost.
use strict;
use warnings;

use Digest::SHA qw(sha1_base64);
use Errno qw(EAGAIN EWOULDBLOCK EINPROGRESS);
use HTTP::Date qw(str2time);
use IO::Poll qw(POLLIN POLLOUT POLLERR POLLHUP);
use IO::Socket::INET ();
use MIME::Base64 qw(encode_base64);
use Socket qw(SOL_SOCKET SO_LINGER);
use Time::HiRes qw(time sleep);

my @TRANSPORTS = qw(longpoll sse ws);

# new(port => P, channel => C, clients => N, drop_after => [min, max]
#     messages between drops ([0, 0]: never drop), drops => the ways, in
#     turn (clean reset vanish), interval => s between publishes)
sub new {
    my ($class, %o) = @_;
    my $self = bless {
        drops => $o{drops} || [qw(clean reset vanish)],
        vanish_for => $o{vanish_for} || 5,
        port => $o{port}, channel => $o{channel}, n => $o{clients},
        drop_min => ($o{drop_after} || [3, 8])->[0],
        drop_max => ($o{drop_after} || [3, 8])->[1],
        interval => $o{interval} || 0.05,
        clients => [], vanished => [], seq => 0, acked => 0, pub_errors => 0,
        uncertain => {},
        stats => { connects => 0, refused => 0, drops => {},
                   delivered => 0, lost => 0, dup => 0, gaps => 0, errors => 0 },
        dropping => 1, poll => IO::Poll->new,
    }, $class;
    for my $i (0 .. $self->{n} - 1) {
        my $c = { id => $i, t => $TRANSPORTS[$i % @TRANSPORTS], drops => $i };
        push @{ $self->{clients} }, $c;
        $self->_connect($c);
    }
    return $self;
}

sub stats { $_[0]{stats} }
sub acked { $_[0]{acked} }

# A server for a churn under this MPM: { conf (for PushServer::start),
# clients, drops }; undef for an MPM it has no sizing for.  Each MPM is
# sized for its clients with a fixed set of children (none started or
# reaped under load, so counts compare), and scoreboard room for a
# graceful restart's new children while the old ones finish (ServerLimit
# twice what runs, or the restart waits, AH03490).  Vanishing clients hold a thread
# each under worker and prefork until they are reset: there they only
# close or reset.  SOAK_CLIENTS sets the event MPM's count.
sub setup {
    my ($mpm) = @_;
    my %s = (
        event   => { clients => 210,
                     mpm => "ServerLimit 4\nStartServers 2\nThreadsPerChild 25\n"
                          . "MaxRequestWorkers 50\nMinSpareThreads 1\nMaxSpareThreads 50\n"
                          . "AsyncRequestWorkerFactor %FACTOR%\n" },
        worker  => { clients => 48, drops => [qw(clean reset)],
                     mpm => "ServerLimit 4\nStartServers 2\nThreadsPerChild 40\n"
                          . "MaxRequestWorkers 80\nMinSpareThreads 1\nMaxSpareThreads 80\n" },
        prefork => { clients => 24, drops => [qw(clean reset)],
                     mpm => "StartServers 40\nMinSpareServers 40\nMaxSpareServers 40\n"
                          . "MaxRequestWorkers 40\nServerLimit 80\n" },
    );
    my $set = $s{$mpm} or return undef;
    $set->{clients} = $ENV{SOAK_CLIENTS} if $mpm eq 'event' && $ENV{SOAK_CLIENTS};
    # Room for the clients (and the vanished ones) in two children.
    my $factor = int($set->{clients} * 3 / 50) + 10;
    (my $mpm_conf = $set->{mpm}) =~ s/%FACTOR%/$factor/;
    # A pace the two cores keep up with however many clients: a long
    # poll takes one message per request.
    $set->{interval} = $set->{clients} > 400 ? $set->{clients} / 4000 : 0.05;
    # Each client drops every 1 to 3 s.
    $set->{drop_after} = [int(1 / $set->{interval}) || 1, int(3 / $set->{interval}) || 2];
    $set->{conf} = "<IfModule mpm_${mpm}_module>\n$mpm_conf</IfModule>\n"
        . "PushSharedMemorySize 16M\nKeepAliveTimeout 30\n"
        . "<Location /pub>\n PushMessageBufferLength 1000\n</Location>\n";
    return $set;
}

# ------------------------------------------------------------------
# Connections

sub _connect {
    my ($self, $c) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$self->{port}", Blocking => 0)
        or do { $self->{stats}{errors}++; $c->{retry_at} = time + 0.1; return };
    $c->{sock} = $s;
    $c->{in} = '';
    $c->{out} = '';
    $c->{state} = 'head';
    $c->{got} = 0;
    $c->{drop_after} = $self->{drop_min} ? $self->{drop_min}
        + int(rand($self->{drop_max} - $self->{drop_min} + 1)) : 0;
    $c->{retry_at} = undef;
    $self->_request($c);
    $self->{poll}->mask($s => POLLIN | POLLOUT);
    $self->{stats}{connects}++;
}

sub _request {
    my ($self, $c) = @_;
    $c->{since} = time;
    my $path = "/sub/$self->{channel}";
    my $cur = $c->{cursor};
    my $h = "Host: localhost\r\n";
    if ($c->{t} eq 'sse') {
        $h .= "Accept: text/event-stream\r\n";
        $h .= "Last-Event-ID: $cur\r\n" if $cur;
    }
    elsif ($c->{t} eq 'ws') {
        $path .= "?last_event_id=$cur" if $cur;
        my $key = encode_base64(join('', map { chr int rand 256 } 1 .. 16), '');
        $c->{accept} = sha1_base64($key . '258EAFA5-E914-47DA-95CA-C5AB0DC85B11') . '=';
        $h .= "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
            . "Sec-WebSocket-Key: $key\r\nSec-WebSocket-Protocol: ws+meta.nchan\r\n";
    }
    else {
        $h .= "Last-Event-ID: $cur\r\n" if $cur;
    }
    $c->{out} .= "GET $path HTTP/1.1\r\n$h\r\n";
}

sub _close {
    my ($self, $c, $how) = @_;
    my $s = delete $c->{sock} or return;
    $self->{poll}->remove($s);
    if ($how eq 'vanish') {
        # Open, and never read again, until the "network" gives up on it
        # (vanish_for seconds later it is reset, as a peer's stack would).
        push @{ $self->{vanished} }, [$s, time + $self->{vanish_for}];
        return;
    }
    if ($how eq 'reset') {
        setsockopt($s, SOL_SOCKET, SO_LINGER, pack('ii', 1, 0));
    }
    elsif ($how eq 'clean' && $c->{t} eq 'ws' && $c->{state} eq 'ws') {
        syswrite($s, _frame(8, pack('n', 1000)));
    }
    close $s;
}

# The client is done with this connection: it comes back at once, with
# its cursor.
sub _drop {
    my ($self, $c, $how) = @_;
    $self->{stats}{drops}{$how}++ if $how;
    $self->_close($c, $how || 'clean');
    $self->_connect($c);
}

sub _frame {
    my ($op, $payload) = @_;
    my $mask = join '', map { chr int rand 256 } 1 .. 4;
    my $len = length $payload;
    my $head = chr(0x80 | $op) . ($len < 126 ? chr(0x80 | $len) : chr(0x80 | 126) . pack('n', $len));
    my $masked = $payload ^ substr($mask x (int($len / 4) + 1), 0, $len);
    return $head . $mask . $masked;
}

# ------------------------------------------------------------------
# What arrives

sub _message {
    my ($self, $c, $id, $data) = @_;
    $c->{cursor} = $id if $id;
    return unless defined $data && $data =~ /^s(\d+)$/;
    my $seq = $1;
    if (defined $c->{last}) {
        if ($seq <= $c->{last}) { $self->{stats}{dup}++; return }
        $self->{stats}{lost} += $self->_missed($c->{last} + 1, $seq - 1);
    }
    $c->{last} = $seq;
    $self->{stats}{delivered}++;
    $c->{got}++;
}

sub _gap { $_[0]{stats}{gaps}++ }

# Of the messages from..to, those acknowledged: a publish that got no
# answer (its server process was killed) may or may not have been kept.
sub _missed {
    my ($self, $from, $to) = @_;
    return scalar grep { !$self->{uncertain}{$_} } $from .. $to;
}

sub _head {
    my ($self, $c) = @_;
    my $end = index($c->{in}, "\r\n\r\n");
    return () if $end < 0;
    my $head = substr($c->{in}, 0, $end + 4, '');
    my ($status) = $head =~ m{^HTTP/1\.\d (\d{3})};
    my %h;
    $h{lc $1} = $2 while $head =~ /^([\w-]+):\s*(.*?)\r$/mg;
    return ($status || 0, \%h);
}

# Reads what is there and acts on it; 0 when the connection is over.
sub _input {
    my ($self, $c) = @_;
    for (;;) {
        my $n = sysread($c->{sock}, my $buf, 65536);
        if (!defined $n) {
            return 1 if $! == EAGAIN || $! == EWOULDBLOCK;
            return 0;
        }
        return 0 if $n == 0;
        $c->{in} .= $buf;
        last if $n < 65536;
    }
    for (;;) {
        my $st = $c->{state};
        if ($st eq 'head') {
            my ($status, $h) = $self->_head($c) or return 1;
            if ($status == 503) { $self->{stats}{refused}++; return 0 }
            if ($c->{t} eq 'ws') {
                return 0 unless $status == 101 && ($h->{'sec-websocket-accept'} || '') eq $c->{accept};
                $c->{state} = 'ws';
            }
            elsif ($c->{t} eq 'sse') {
                return 0 unless $status == 200;
                $c->{chunked} = ($h->{'transfer-encoding'} || '') =~ /chunked/i;
                $c->{body} = '';
                $c->{state} = 'sse';
            }
            else {
                return 0 unless $status == 200 || $status == 304;
                $self->_gap if $h->{'x-push-gap'};
                $c->{lp} = { status => $status, len => $h->{'content-length'} || 0, h => $h };
                $c->{state} = 'lpbody';
            }
        }
        elsif ($st eq 'lpbody') {
            my $lp = $c->{lp};
            return 1 if length($c->{in}) < $lp->{len};
            my $body = substr($c->{in}, 0, $lp->{len}, '');
            my ($lm, $et) = @{ $lp->{h} }{qw(last-modified etag)};
            my $t = defined $lm ? str2time($lm) : undef;
            ($et //= '') =~ s/^W\/|"//g;
            my $id = defined $t && $et =~ /^\d+$/ ? "$t:$et" : undef;
            if ($lp->{status} == 200) { $self->_message($c, $id, $body) }
            elsif ($id) { $c->{cursor} = $id }
            $c->{state} = 'head';
            return 2 if $self->_due_drop($c);
            $self->_request($c);          # the next poll, same connection
            $self->{poll}->mask($c->{sock} => POLLIN | POLLOUT);
        }
        elsif ($st eq 'sse') {
            if ($c->{chunked}) {
                while ($c->{in} =~ /^([0-9a-fA-F]+)\r\n/) {
                    my $len = hex $1;
                    my $hl = length($1) + 2;
                    last if length($c->{in}) < $hl + $len + 2;
                    return 0 if $len == 0;
                    $c->{body} .= substr($c->{in}, $hl, $len);
                    substr($c->{in}, 0, $hl + $len + 2, '');
                }
            }
            else {
                $c->{body} .= $c->{in};
                $c->{in} = '';
            }
            while ((my $e = index($c->{body}, "\n\n")) >= 0) {
                my $ev = substr($c->{body}, 0, $e + 2, '');
                my ($id) = $ev =~ /^id: ?(.*)$/m;
                my ($name) = $ev =~ /^event: ?(.*)$/m;
                my @data = $ev =~ /^data: ?(.*)$/mg;
                if (($name || '') eq 'push-gap') { $self->_gap; $c->{cursor} = $id if $id; next }
                $self->_message($c, $id, @data ? join("\n", @data) : undef);
                return 2 if $self->_due_drop($c);
            }
            return 1;
        }
        elsif ($st eq 'ws') {
            return 1 if length($c->{in}) < 2;
            my ($b0, $b1) = unpack 'CC', $c->{in};
            my ($len, $hl) = ($b1 & 0x7f, 2);
            if ($len == 126) { return 1 if length($c->{in}) < 4; $len = unpack 'n', substr($c->{in}, 2, 2); $hl = 4 }
            elsif ($len == 127) { return 1 if length($c->{in}) < 10; $len = unpack 'Q>', substr($c->{in}, 2, 8); $hl = 10 }
            return 1 if length($c->{in}) < $hl + $len;
            my $p = substr($c->{in}, $hl, $len);
            substr($c->{in}, 0, $hl + $len, '');
            my $op = $b0 & 0x0f;
            if ($op == 9) { $c->{out} .= _frame(10, $p); $self->{poll}->mask($c->{sock} => POLLIN | POLLOUT); next }
            return 0 if $op == 8;
            next unless $op == 1;
            my $sep = index($p, "\n\n");
            next if $sep < 0;
            my $meta = substr($p, 0, $sep);
            my ($id) = $meta =~ /^id: ?(.*)$/m;
            my ($type) = $meta =~ /^content-type: ?(.*)$/m;
            if (($type || '') eq 'application/x-push-gap') { $self->_gap; $c->{cursor} = $id if $id; next }
            $self->_message($c, $id, substr($p, $sep + 2));
            return 2 if $self->_due_drop($c);
        }
        else {
            return 1;
        }
    }
}

# Drops the connection when its count is reached; 1 when it did.
sub _due_drop {
    my ($self, $c) = @_;
    return 0 unless $self->{dropping} && $c->{drop_after} && $c->{got} >= $c->{drop_after};
    my $ways = $self->{drops};
    $self->_drop($c, $ways->[$c->{drops}++ % @$ways]);
    return 1;
}

# ------------------------------------------------------------------
# The publisher: one message each interval on a connection of its own
# (blocking, a short wait).

sub _publish {
    my ($self) = @_;
    my $seq = $self->{seq} + 1;
    my $body = "s$seq";
    my $reused = $self->{pub} && $self->{pub}->connected;
    my $s = $reused ? $self->{pub}
          : ($self->{pub} = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$self->{port}", Timeout => 5));
    # Not connected: nothing was published, it is tried again next time
    # (the server takes no new connection while its children are full).
    unless ($s) { $self->{pub_retries}++; return }
    $s->autoflush(1);
    print $s "POST /pub/$self->{channel} HTTP/1.1\r\nHost: localhost\r\nContent-Length: "
        . length($body) . "\r\n\r\n$body";
    my $buf = '';
    my $t = time;
    my $sel = IO::Poll->new;
    $sel->mask($s => POLLIN);
    while (time - $t < 5) {
        last if $buf =~ /\r\n\r\n/ && $buf =~ /^Content-Length: (\d+)/mi
            && length($buf) - index($buf, "\r\n\r\n") - 4 >= $1;
        $sel->poll(0.5) or next;
        my $n = sysread($s, $buf, 65536, length $buf);
        last unless $n;
    }
    if ($buf eq '' && $reused) {
        # A kept-alive connection the server had closed (as the event
        # MPM closes idle ones when a child is full): what any HTTP
        # client does, once more on a new one.
        close $s;
        delete $self->{pub};
        return $self->_publish;
    }
    $self->{seq} = $seq;
    if ($buf =~ m{^HTTP/1\.\d 20[12]}) {
        $self->{acked} = $seq;
        # The server's last request on this connection
        # (MaxKeepAliveRequests): the next goes on a new one.
        if ($buf =~ /^Connection:\s*close/mi) {
            close $s;
            delete $self->{pub};
        }
    }
    else {
        my ($line) = $buf =~ /^(.*?)\r?\n/;
        $self->{pub_fail}{ $line || sprintf('no answer in %.1f s', time - $t) }++;
        $self->{pub_errors}++;
        $self->{uncertain}{$seq} = 1;
        close $s;
        delete $self->{pub};
    }
}

sub pub_errors { $_[0]{pub_errors} }
sub pub_retries { $_[0]{pub_retries} || 0 }

# Why publishes failed: "reason count, ...".
sub pub_failures {
    my $f = $_[0]{pub_fail} || {};
    return join(', ', map { "$_: $f->{$_}" } sort keys %$f) || 'none';
}

# ------------------------------------------------------------------
# The loop

# Runs for $secs: publishing each interval, dropping and coming back;
# $tick->() about once a second.
sub run {
    my ($self, $secs, $tick) = @_;
    my $end = time + $secs;
    my $next_pub = time;
    my $next_tick = time + 1;
    while (time < $end) {
        if (time >= $next_pub) {
            $self->_publish;
            $next_pub += $self->{interval};
            $next_pub = time if $next_pub < time - 1;
        }
        $self->_turn(0.01);
        if ($tick && time >= $next_tick) {
            $tick->();
            $next_tick += 1;
        }
    }
}

# No more drops or publishes: waits until every client has the last
# acknowledged message (or $wait passed); how many clients lag.
sub settle {
    my ($self, $wait) = @_;
    $self->{dropping} = 0;
    my $end = time + $wait;
    my $lagging;
    while (time < $end) {
        $lagging = grep { !defined $_->{last} || $_->{last} < $self->{acked} } @{ $self->{clients} };
        last unless $lagging;
        $self->_turn(0.05);
    }
    # What a lagging client did not get counts as lost.
    for my $c (@{ $self->{clients} }) {
        $self->{stats}{lost} += $self->_missed($c->{last} + 1, $self->{acked})
            if defined $c->{last} && $c->{last} < $self->{acked};
    }
    return $lagging;
}

# Who lags behind the last acknowledged message, for a failure's
# message: counts by transport and connection state.
sub lag_report {
    my ($self) = @_;
    my %n;
    for my $c (@{ $self->{clients} }) {
        next if defined $c->{last} && $c->{last} >= $self->{acked};
        my $state = !$c->{sock} ? 'reconnecting' : $c->{state};
        my $behind = defined $c->{last} ? 'behind' : 'never-got-one';
        $n{"$c->{t}/$state/$behind"}++;
    }
    return join(', ', map { "$_ $n{$_}" } sort keys %n) || 'none';
}

# Every connection closed (vanished ones by a reset).
sub finish {
    my ($self) = @_;
    $self->_close($_, 'reset') for @{ $self->{clients} };
    $self->_reset_vanished(0);
    close $self->{pub} if $self->{pub};
}

sub vanished { scalar @{ $_[0]{vanished} } }

# Resets the vanished connections whose time is up (all when $due is 0).
sub _reset_vanished {
    my ($self, $due) = @_;
    my $v = $self->{vanished};
    while (@$v && (!$due || $v->[0][1] <= time)) {
        my ($s) = @{ shift @$v };
        setsockopt($s, SOL_SOCKET, SO_LINGER, pack('ii', 1, 0));
        close $s;
    }
}

sub _turn {
    my ($self, $timeout) = @_;
    my %by;
    $self->_reset_vanished(1);
    my $now = time;
    for my $c (@{ $self->{clients} }) {
        if (!$c->{sock}) {
            $self->_connect($c) if $c->{retry_at} && $now >= $c->{retry_at};
            next;
        }
        $by{ fileno $c->{sock} } = $c;
    }
    $self->{poll}->poll($timeout);
    for my $fd (keys %by) {
        my $c = $by{$fd};
        my $s = $c->{sock} or next;
        my $ev = $self->{poll}->events($s) or next;
        if (($ev & POLLOUT) && length $c->{out}) {
            my $n = syswrite($s, $c->{out});
            if (defined $n) { substr($c->{out}, 0, $n, '') }
            elsif ($! != EAGAIN && $! != EWOULDBLOCK) { $self->_lost_conn($c); next }
        }
        $self->{poll}->mask($s => length $c->{out} ? POLLIN | POLLOUT : POLLIN);
        if ($ev & (POLLIN | POLLHUP | POLLERR)) {
            my $r = $self->_input($c);
            $self->_lost_conn($c) if !$r;
        }
    }
    # A connection that still could not send its request, 5 s on and
    # just polled (its SYN lost while the server's queue was full, say),
    # is tried again, as a browser would; once the request is out, the
    # answer may take as long as it takes.
    for my $c (values %by) {
        if ($c->{sock} && $c->{state} eq 'head' && length $c->{out}
            && $now - $c->{since} > 5) {
            $self->{stats}{timeouts}++;
            $self->_lost_conn($c);
        }
    }
}

# The server ended the connection (a restart, a refusal): back shortly.
sub _lost_conn {
    my ($self, $c) = @_;
    $self->_close($c, 'clean');
    $c->{retry_at} = time + 0.05 + rand(0.1);
}

1;
