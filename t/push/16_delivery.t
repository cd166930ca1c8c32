# Delivery under load: a connected streaming subscriber (event stream,
# WebSocket) gets every message after its cursor, in order, even where
# PushMessageBufferLength is 10, because it holds its messages in the
# store up to PushSubscriberBacklog behind; past that bound, and for long
# polls (which hold nothing), a loss is always said: push-gap, a Close
# with 4001, the ws+meta.nchan gap notice, X-Push-Gap.  Never a silent
# hole.  The locations are /burst, /pub10 and /slow in extra.conf.in.
use strict;
use warnings FATAL => 'all';
use Apache::Test;
use Apache::TestUtil;
use PushTest;
use PushWS;
use Compress::Raw::Zlib;
use IO::Select ();
use IO::Socket::INET ();
use POSIX ();
use Socket qw(SOL_SOCKET SO_RCVBUF inet_aton sockaddr_in);
use Time::HiRes qw(time sleep);

plan tests => 2 * 15 + 8 + 21 + 3 + 2;

# --- helpers ----------------------------------------------------------

# Reads, once, whatever the connections' sockets have within $timeout,
# into each one's buf; a connection at EOF gets {eof}.  Bytes read.
sub pump {
    my ($timeout, @conns) = @_;
    my %by = map { fileno($_->{sock}) => $_ } grep { !$_->{eof} } @conns;
    return 0 unless %by;
    my $sel = IO::Select->new(map { $_->{sock} } values %by);
    my $n = 0;
    for my $s ($sel->can_read($timeout)) {
        my $c = $by{ fileno $s };
        my $r = sysread($s, my $chunk, 65536);
        if ($r) { $c->{buf} .= $chunk; $n += $r }
        else    { $c->{eof} = 1 }
    }
    return $n;
}

# The next whole SSE event or WebSocket frame already read, without
# waiting (a deadline already past: the helpers do no I/O then).
sub sse_take { sse_event($_[0], 1e-9) }
sub ws_take  { ws_recv_data($_[0], 1e-9) }

# A list of sequence numbers as ranges: "1-2000", "1-37,1491-1500".
sub runs {
    my @s = @_;
    my @r;
    for my $x (@s) {
        if (@r && $x == $r[-1][1] + 1) { $r[-1][1] = $x }
        else { push @r, [$x, $x] }
    }
    return join ',', map { "$_->[0]-$_->[1]" } @r;
}


# What a stalled reader received, as ['m', seq] messages and
# ['g', seq of the id named, id] gap notices: (the first thing wrong, or
# ''; the whole as runs; how many notices; the last notice's seq; the
# messages after it).  Right is: each message the one after the last
# (from 1, the subscriber resumed from the seed), or, after a notice,
# the one after the message the notice names, which is at or past what
# came before it.
sub gap_story {
    my @ev = @_;
    my ($prev, $gap, $problem, $gaps, $last_gap, @after) = (0, undef, '', 0);
    my @story;
    for my $e (@ev) {
        my ($kind, $seq, $id) = @$e;
        if ($kind eq 'g') {
            $gaps++;
            @after = ();
            push @story, 'gap ' . ($seq // "at unknown id $id");
            $problem ||= "a gap notice naming $id, which was not published"
                unless defined $seq;
            $problem ||= "a gap notice naming message $seq, behind message $prev, which came"
                if defined $seq && $seq < $prev;
            $gap = $last_gap = $seq;
            next;
        }
        my $want = defined $gap ? $gap + 1 : $prev + 1;
        $problem ||= "message $seq where $want was due"
            . (defined $gap ? " (the oldest after the notice of $gap)" : " (after $prev)")
            if $seq != $want;
        if (@story && ref $story[-1] && $story[-1][1] + 1 == $seq) {
            $story[-1][1] = $seq;
        }
        else {
            push @story, [$seq, $seq];
        }
        push @after, $seq;
        ($prev, $gap) = ($seq, undef);
    }
    my $text = join ', ', map { ref $_ ? "$_->[0]-$_->[1]" : $_ } @story;
    return ($problem, $text || 'nothing', $gaps, $last_gap, @after);
}

sub chan_subs {
    my ($ch) = @_;
    my $r = request('GET', "/pub10/$ch");
    return $r && $r->{status} == 200 ? json($r->{body})->{subscribers} : 0;
}

sub gaps_counted { push_status()->{subscriber_gaps} }

# A connection whose socket has a small receive buffer, set before the
# connect (so that the window the server sees is small from the start).
sub small_conn {
    my ($size) = @_;
    my ($host, $port) = split /:/, Apache::TestRequest::hostport();
    my $sock = IO::Socket::INET->new(Proto => 'tcp')
        or die "socket: $!";
    setsockopt($sock, SOL_SOCKET, SO_RCVBUF, pack('i', $size))
        or die "SO_RCVBUF: $!";
    connect($sock, sockaddr_in($port, inet_aton($host)))
        or die "connect to $host:$port: $!";
    $sock->autoflush(1);
    return { sock => $sock, buf => '' };
}

# The httpd children (processes whose parent is the pid in the pid file)
# and the sum of their VmRSS, in kB.
sub children_rss {
    open my $fh, '<', Apache::Test::vars('t_pid_file') or return (undef, 0);
    my $ppid = <$fh>;
    close $fh;
    return (undef, 0) unless defined $ppid && $ppid =~ /(\d+)/;
    $ppid = $1;
    my ($sum, $n) = (0, 0);
    opendir my $d, '/proc' or return (undef, 0);
    for my $p (grep { /^\d+$/ } readdir $d) {
        open my $s, '<', "/proc/$p/status" or next;
        my %f;
        while (<$s>) { $f{$1} = $2 if /^(\w+):\s+(\d+)/ }
        close $s;
        next unless defined $f{PPid} && $f{PPid} == $ppid;
        $sum += $f{VmRSS} || 0;
        $n++;
    }
    closedir $d;
    return ($sum, $n);
}

# --- 1. burst: a WebSocket publishes 2,000 messages and reads its own
# echoes while an event stream and a long-poll chain follow the channel --

sub burst {
    my ($deflate) = @_;
    my $tag = $deflate ? 'burst, deflate' : 'burst';
    my $N = 2000;
    my $ch = fresh_channel('burst');
    my $seed = publish($ch, 'seed', path => "/pub10/$ch")
                   ->{headers}{'x-push-message-id'};

    my $ws = ws_connect("/burst/$ch?last_event_id=$seed",
                        $deflate ? (extensions => 'permessage-deflate') : ());
    ok t_cmp($ws && $ws->{status}, 101, "$tag: WebSocket handshake");
    ok t_cmp($ws && $ws->{headers}{'sec-websocket-extensions'},
             $deflate ? qr/^permessage-deflate/ : undef,
             "$tag: Sec-WebSocket-Extensions");
    my $es = sse_open("/burst/$ch", headers => { 'Last-Event-ID' => $seed });
    ok t_cmp($es && $es->{status}, 200, "$tag: event stream status");
    my $lp = conn();
    start_request('GET', "/burst/$ch", conn => $lp,
                  headers => { 'Last-Event-ID' => $seed });
    ok t_cmp(wait_for_value(sub { chan_subs($ch) }, 3, 10), 3,
             "$tag: subscribers (WebSocket, event stream, long poll)");

    my (@ws_seq, @sse_seq, %id_of, @lp_got, @lp_status);
    my ($ws_close, $compressed, $sse_gaps, $lp_last, $lp_waiting) =
        (undef, 0, 0, 0, 1);
    my $take = sub {
        while (my $f = ws_take($ws)) {
            if ($f->{opcode} == 8) {
                ($ws_close) = ws_close_payload($f->{payload});
                $ws_close = 'no code' unless defined $ws_close;
                last;
            }
            next unless $f->{opcode} == 1 || $f->{opcode} == 2;
            $compressed++ if $f->{rsv1};
            my $p = $f->{rsv1} ? inflate_raw($f->{payload}) : $f->{payload};
            push @ws_seq, $p =~ /^n=(\d+) / ? $1 + 0 : -1;
        }
        while (my $e = sse_take($es)) {
            if (($e->{event} || '') eq 'push-gap') { $sse_gaps++; next }
            next unless defined $e->{data} && $e->{data} =~ /^n=(\d+) /;
            push @sse_seq, $1 + 0;
            $id_of{ $1 + 0 } = $e->{id};
        }
        while ($lp_waiting && $lp->{buf} =~ /\r\n\r\n/) {
            my $r = read_response($lp, 5) or last;
            $lp_waiting = 0;
            my %next;
            if ($r->{status} == 200) {
                my $seq = $r->{body} =~ /^n=(\d+) / ? $1 + 0 : -1;
                push @lp_got, { seq => $seq, gap => $r->{headers}{'x-push-gap'} };
                $lp_last = $seq;
                %next = ('If-Modified-Since' => $r->{headers}{'last-modified'},
                         'If-None-Match' => $r->{headers}{etag});
            }
            else {
                push @lp_status, $r->{status} unless $r->{status} == 304;
                %next = %{ $lp->{cursor} || { 'Last-Event-ID' => $seed } };
            }
            $lp->{cursor} = \%next;
            if ($lp_last != $N && !$lp->{eof}) {
                start_request('GET', "/burst/$ch", conn => $lp, headers => \%next);
                $lp_waiting = 1;
            }
        }
    };

    # Send in batches, draining whatever is readable between them: the
    # server stops reading a client whose socket is full.
    my $sent = 0;
    my $t0 = time;
    my $deadline = $t0 + 40;
    my $last_data = $t0;
    while (time < $deadline) {
        if ($sent < $N) {
            my $bytes = '';
            for (1 .. 50) {
                last if $sent >= $N;
                my $p = sprintf("n=%04d ", ++$sent) . ('x' x 93);
                $bytes .= $deflate ? ws_frame(1, deflate_raw($p), rsv => 4)
                                   : ws_frame(1, $p);
            }
            ws_send_raw($ws, $bytes) or last;
        }
        while (pump($sent < $N ? 0.002 : 0.2, $ws, $es, $lp)) {
            $last_data = time;
            $take->();
        }
        $take->();
        # Everything sent (or the socket closed) and nothing for 5 s.
        last if ($sent >= $N || defined $ws_close || $ws->{eof})
             && time - $last_data > 5;
        last if (@ws_seq >= $N || defined $ws_close || $ws->{eof})
             && (@sse_seq >= $N || $es->{eof} || $es->{ended});
    }
    t_debug(sprintf "$tag: echoes read in %.2f s; the long poll at %d",
            time - $t0, $lp_last);
    # The long-poll chain may lag: it catches up from what is still
    # buffered, with gaps said.
    my $lp_deadline = time + 15;
    while ($lp_last != $N && $lp_waiting && !$lp->{eof} && time < $lp_deadline) {
        pump(0.5, $lp);
        $take->();
    }

    ok t_cmp(runs(@ws_seq), "1-$N", "$tag: the WebSocket's own echoes, in order");
    ok t_cmp($ws_close, undef, "$tag: the WebSocket is not closed");
    ok t_cmp($compressed, $deflate ? $N : 0, "$tag: echoes compressed");
    ok t_cmp(runs(@sse_seq), "1-$N", "$tag: the event stream, every message in order");
    ok t_cmp($sse_gaps, 0, "$tag: push-gap events on the event stream");

    # The long poll: every sequence number got, or skipped by a response
    # that says X-Push-Gap (the id of the newest lost message; the one
    # delivered is the oldest still buffered).
    my (@holes, @back, @spurious, @wrong_gap);
    my $prev = 0;
    my ($gaps, $unknown) = (0, 0);
    for my $g (@lp_got) {
        my $s = $g->{seq};
        if ($s <= $prev) { push @back, "$s after $prev"; next }
        if (defined $g->{gap}) {
            $gaps++;
            if ($s == $prev + 1) { push @spurious, "$s after $prev" }
            # The id of message $s - 1, as the event stream had it (which
            # must have had them all, above).
            my $want = $id_of{ $s - 1 };
            if (!defined $want) { $unknown++ }
            elsif ($want ne $g->{gap}) {
                push @wrong_gap, "$s: X-Push-Gap $g->{gap}, newest lost $want";
            }
        }
        elsif ($s != $prev + 1) {
            push @holes, ($prev + 1) . "-" . ($s - 1);
        }
        $prev = $s;
    }
    t_debug("$tag: long poll: " . scalar(@lp_got) . " messages, $gaps gaps"
            . ($unknown ? " ($unknown not checked: the event stream lacks the id)" : ''));
    ok t_cmp($lp_last, $N, "$tag: the long-poll chain reaches the last message");
    ok t_cmp("@holes", '', "$tag: long poll: holes without X-Push-Gap");
    ok t_cmp("@back", '', "$tag: long poll: messages repeated or out of order");
    ok t_cmp("@spurious", '', "$tag: long poll: X-Push-Gap where nothing was lost");
    ok t_cmp("@wrong_gap", '', "$tag: long poll: X-Push-Gap is the newest lost id");
    ok t_cmp("@lp_status", '', "$tag: long poll: statuses other than 200 and 304");
    close $_->{sock} for $ws, $es, $lp;
}

burst(0);
burst(1);

# --- 2. flood: 40 streaming subscribers, 4 publishers at full speed ----

{
    my $ch = fresh_channel('flood');
    my ($P, $M) = (4, 250);
    my $seed = publish($ch, 'seed', path => "/pub10/$ch")
                   ->{headers}{'x-push-message-id'};
    my @subs;
    for (1 .. 20) {
        my $c = sse_open("/sub/$ch", headers => { 'Last-Event-ID' => $seed })
            or die "event stream did not open";
        $c->{kind} = 'sse';
        push @subs, $c;
    }
    for my $meta ((0) x 10, (1) x 10) {
        my $c = ws_connect("/sub/$ch?last_event_id=$seed",
                           $meta ? (protocol => 'ws+meta.nchan') : ())
            or die "WebSocket did not open";
        $c->{kind} = $meta ? 'meta' : 'ws';
        push @subs, $c;
    }
    ok t_cmp(wait_for_value(sub { chan_subs($ch) }, 40, 20), 40,
             'flood: subscribers (20 event streams, 10 WebSockets, 10 ws+meta.nchan)');
    $_->{got} = { map { $_ => [] } 1 .. $P } for @subs;
    $_->{n} = 0, $_->{gaps} = 0 for @subs;
    my $gaps0 = gaps_counted();

    local $| = 1;
    my @kids;
    for my $k (1 .. $P) {
        my $pid = fork;
        die "fork: $!" unless defined $pid;
        if (!$pid) {
            my $bad = 0;
            my $c = eval { conn() };
            for my $i (1 .. $M) {
                last unless $c;
                start_request('POST', "/pub10/$ch", conn => $c, body => "p$k-$i");
                my $r = read_response($c, 10);
                $bad++ unless $r && $r->{status} =~ /^20[12]$/;
                $c = eval { conn() } unless $r;
            }
            POSIX::_exit($c && !$bad ? 0 : 1);
        }
        push @kids, $pid;
    }

    my $take = sub {
        my ($c) = @_;
        my @bodies;
        if ($c->{kind} eq 'sse') {
            while (my $e = sse_take($c)) {
                if (($e->{event} || '') eq 'push-gap') { $c->{gaps}++; next }
                push @bodies, $e->{data} if defined $e->{data};
            }
        }
        else {
            while (my $f = ws_take($c)) {
                if ($f->{opcode} == 8) {
                    ($c->{close}) = ws_close_payload($f->{payload});
                    $c->{close} = 'no code' unless defined $c->{close};
                    last;
                }
                next unless $f->{opcode} == 1 || $f->{opcode} == 2;
                my $p = $f->{payload};
                if ($c->{kind} eq 'meta') {
                    my ($head, $body) = split /\n\n/, $p, 2;
                    if ($head =~ m{^content-type: application/x-push-gap$}m) {
                        $c->{gaps}++;
                        next;
                    }
                    $p = defined $body ? $body : "(no meta head) $p";
                }
                push @bodies, $p;
            }
        }
        for (@bodies) {
            $c->{n}++;
            push @{ $c->{got}{$1} }, $2 + 0 if /^p(\d+)-(\d+)$/ && $c->{got}{$1};
        }
    };
    my $done = sub {
        my ($c) = @_;
        $c->{n} >= $P * $M || $c->{eof} || $c->{ended} || defined $c->{close};
    };
    my $t0 = time;
    my $deadline = $t0 + 40;
    my %exit;
    while (time < $deadline) {
        my @open = grep { !$done->($_) } @subs;
        last unless @open;
        pump(0.05, @open);
        $take->($_) for @open;
        for my $pid (grep { !exists $exit{$_} } @kids) {
            $exit{$pid} = $? >> 8 if waitpid($pid, POSIX::WNOHANG()) == $pid;
        }
    }
    for my $pid (grep { !exists $exit{$_} } @kids) {
        waitpid($pid, 0);
        $exit{$pid} = $? >> 8;
    }
    t_debug(sprintf "flood: read in %.2f s", time - $t0);

    my $full = join ' ', map { "p$_:1-$M" } 1 .. $P;
    my %complete = (sse => 0, ws => 0, meta => 0);
    my $notices = 0;
    my $shown = 0;
    for my $c (@subs) {
        my $what = join ' ', map { "p$_:" . runs(@{ $c->{got}{$_} }) } 1 .. $P;
        $notices += $c->{gaps};
        if ($what eq $full && !$c->{gaps} && !defined $c->{close}
            && $c->{n} == $P * $M) {
            $complete{ $c->{kind} }++;
        }
        elsif ($shown++ < 3) {
            t_debug("flood: a $c->{kind} subscriber got $c->{n} messages: $what"
                    . ", gap notices $c->{gaps}"
                    . (defined $c->{close} ? ", closed with $c->{close}" : ''));
        }
    }
    ok t_cmp(join(' ', map { $exit{$_} } @kids), join(' ', (0) x $P),
             'flood: publishers whose every POST was accepted (exit status)');
    ok t_cmp($complete{sse}, 20,
             'flood: event streams that got every message, each publisher\'s in order');
    ok t_cmp($complete{ws}, 10,
             'flood: WebSockets that got every message, each publisher\'s in order');
    ok t_cmp($complete{meta}, 10,
             'flood: ws+meta.nchan WebSockets that got every message, in order');
    ok t_cmp($notices, 0, 'flood: gap notices (push-gap, x-push-gap)');
    ok t_cmp(scalar(grep { defined $_->{close} } @subs), 0,
             'flood: WebSockets closed by the server');
    ok t_cmp(gaps_counted(), $gaps0, 'flood: push-status subscriber_gaps unchanged');
    close $_->{sock} for @subs;
}

# --- 3. readers that stop: bounded memory, then the gap said -----------

{
    my $ch = fresh_channel('slow');
    # ~3 MB, and at least 2 MB more than a loopback socket's send buffer
    # can grow to (tcp_wmem's maximum): what is in flight there is not
    # the server's to take back, and must not cover everything.
    my $size = 2048;
    my $wmem = 4 * 1024 * 1024;
    if (open my $fh, '<', '/proc/sys/net/ipv4/tcp_wmem') {
        my @w = split ' ', scalar <$fh>;
        $wmem = $w[2] if @w == 3 && $w[2] =~ /^\d+$/;
    }
    my $bytes = 3 * 1024 * 1024;
    $bytes = $wmem + 2 * 1024 * 1024 if $wmem + 2 * 1024 * 1024 > $bytes;
    my $N = int(($bytes + $size - 1) / $size);
    my $seed = publish($ch, 'seed', path => "/pub10/$ch")
                   ->{headers}{'x-push-message-id'};
    my $sws = ws_connect("/slow/$ch?last_event_id=$seed", conn => small_conn(4096));
    my $ses = sse_open("/slow/$ch", conn => small_conn(4096),
                       headers => { 'Last-Event-ID' => $seed });
    my $smw = ws_connect("/slow/$ch?last_event_id=$seed", conn => small_conn(4096),
                         protocol => 'ws+meta.nchan');
    my $rd = sse_open("/slow/$ch", headers => { 'Last-Event-ID' => $seed });
    ok t_cmp(wait_for_value(sub { chan_subs($ch) }, 4, 10), 4,
             'slow: subscribers (stalled WebSockets plain and meta, stalled event stream, reader)');
    my $gaps0 = gaps_counted();

    my (@rd_seq, @rd_id, $rd_gaps);
    $rd_gaps = 0;
    my $read_rd = sub {
        while (my $e = sse_take($rd)) {
            if (($e->{event} || '') eq 'push-gap') { $rd_gaps++; next }
            next unless defined $e->{data} && $e->{data} =~ /^s=(\d+) /;
            push @rd_seq, $1 + 0;
            push @rd_id, $e->{id};
        }
    };
    my ($rss0, $kids0) = children_rss();
    my $rss_max = $rss0;
    my (@ids, %seq_of);
    my $bad_pub = 0;
    my $pc = conn();
    my $t0 = time;
    for my $i (1 .. $N) {
        start_request('POST', "/pub10/$ch", conn => $pc,
                      body => sprintf("s=%05d ", $i) . ('y' x ($size - 8)));
        my $r = read_response($pc, 10);
        if (!$r || $r->{status} !~ /^20[12]$/) {
            $bad_pub++;
            $pc = conn() unless $r;
        }
        my $id = $r ? $r->{headers}{'x-push-message-id'} : undef;
        push @ids, $id;
        $seq_of{$id} = $i if defined $id;
        pump(0, $rd);
        $read_rd->();
        # The reader keeps up (it too is held only 64K behind).
        if ($i % 8 == 0) {
            my $until = time + 10;
            while ((!@rd_seq || $rd_seq[-1] < $i) && !$rd->{eof} && time < $until) {
                pump(0.1, $rd);
                $read_rd->();
            }
        }
        if ($i % 250 == 0) {
            my ($rss) = children_rss();
            $rss_max = $rss if defined $rss && defined $rss_max && $rss > $rss_max;
        }
    }
    my $until = time + 10;
    while (@rd_seq < $N && !$rd->{eof} && time < $until) {
        pump(0.1, $rd);
        $read_rd->();
    }
    my $pub_secs = time - $t0;
    my ($rss1, $kids1) = children_rss();
    $rss_max = $rss1 if defined $rss1 && defined $rss_max && $rss1 > $rss_max;
    t_debug(sprintf "slow: %d messages published in %.2f s; %d children %s kB"
            . " before, %d children %s kB after", $N, time - $t0, $kids0,
            $rss0 // 'undef', $kids1, $rss1 // 'undef');
    ok t_cmp($bad_pub, 0, 'slow: publishes not accepted');
    # Clients that do not read never pace publishers (each paced publish
    # could wait up to a second; 3,000 of them would take an hour).
    ok t_num($pub_secs, '<', 120,
             "slow: seconds for $N publishes with two stalled readers");
    ok t_cmp(runs(@rd_seq), "1-$N", 'slow: the reader, every message in order');
    ok t_cmp($rd_gaps, 0, 'slow: push-gap events on the reader');
    ok t_cmp(scalar(grep { !defined $rd_id[$_] || !defined $ids[$_]
                           || $rd_id[$_] ne $ids[$_] } 0 .. $N - 1), 0,
             'slow: the reader\'s ids that differ from the published ones');
    ok t_num(defined $rss_max && defined $rss0 ? ($rss_max - $rss0) / 1024 : undef,
             '<', 64, 'slow: growth of the httpd children\'s VmRSS (MB)');

    # The stalled WebSocket reads now: what was in flight, in order, then
    # a Close with 4001.
    my (@w_seq, $w_close, $w_reason);
    my $wend = time + 20;
    while (time < $wend) {
        my $f = ws_recv_data($sws, 5) or last;
        if ($f->{opcode} == 8) {
            ($w_close, $w_reason) = ws_close_payload($f->{payload});
            last;
        }
        push @w_seq, $f->{payload} =~ /^s=(\d+) / ? $1 + 0 : -1
            if $f->{opcode} == 1 || $f->{opcode} == 2;
    }
    t_debug("slow: the stalled WebSocket got " . runs(@w_seq) . " first");
    ok t_cmp(runs(@w_seq), qr/^(?:1-\d+)?$/,
             'slow: the stalled WebSocket: what was in flight, from the first, no hole');
    ok t_cmp($w_close, 4001, 'slow: the stalled WebSocket: close code');
    ok t_cmp($w_reason, qr/messages lost/, 'slow: the stalled WebSocket: close reason');
    ws_send($sws, 8, pack('n', 1000));
    ok t_cmp(ws_eof($sws, 5), 1, 'slow: the stalled WebSocket: the connection ends');

    # The stalled event stream: what was in flight, then push-gap with the
    # newest lost id, then the oldest still buffered and on to the end.
    # A stream that fell more than 64K behind before its socket filled (a
    # thread not scheduled for a few dozen publishes) is let go earlier
    # too: each such hole must be told the same way.
    my @ev;
    my $send = time + 20;
    while (time < $send && !(@ev && $ev[-1][0] eq 'm' && $ev[-1][1] >= $N)) {
        my $e = sse_event($ses, 5) or last;
        if (($e->{event} || '') eq 'push-gap') {
            push @ev, ['g', $seq_of{$e->{data} // ''}, $e->{data}];
            next;
        }
        next unless defined $e->{data};
        push @ev, ['m', $e->{data} =~ /^s=(\d+) / ? $1 + 0 : -1];
    }
    my ($problem, $story, $gaps, $last_gap, @after) = gap_story(@ev);
    t_debug("slow: the stalled event stream got $story");
    ok t_cmp($problem, '',
             'slow: the stalled event stream: in order from the first, each hole'
             . ' told by a push-gap naming its newest lost message, the oldest'
             . ' buffered next');
    ok t_num($gaps, '>=', 1, 'slow: the stalled event stream: push-gap events');
    # Held no more past 64K behind, the channel was trimmed to its
    # buffer length (10) once the reader had taken the last message: the
    # newest lost is the one before the last 10.  (A hold that did not
    # let go would have kept more, or lost held ones to eviction.)
    ok t_cmp($last_gap, $N - 10,
             'slow: the last push-gap: the newest lost is the one before the last 10');
    ok t_cmp(runs(@after), ($N - 9) . "-$N",
             'slow: after the last push-gap: the last 10, in order');
    # The stalled ws+meta.nchan WebSocket: what was in flight, then the
    # gap notice (the newest lost id, content type
    # application/x-push-gap, no body), then on to the end, not closed.
    my (@mev, $m_close, $m_bodies);
    $m_bodies = '';
    my $mend = time + 20;
    while (time < $mend && !(@mev && $mev[-1][0] eq 'm' && $mev[-1][1] >= $N)) {
        my $f = ws_recv_data($smw, 5) or last;
        if ($f->{opcode} == 8) { ($m_close) = ws_close_payload($f->{payload}); last }
        next unless $f->{opcode} == 1 || $f->{opcode} == 2;
        my ($id, $type, $body) = $f->{payload} =~ /^id: ([^\n]*)\n(?:content-type: ([^\n]*)\n)?\n(.*)$/s;
        if (($type // '') eq 'application/x-push-gap') {
            push @mev, ['g', $seq_of{$id}, $id];
            $m_bodies .= $body // '(none)';
            next;
        }
        push @mev, ['m', defined $body && $body =~ /^s=(\d+) / ? $1 + 0 : -1];
    }
    my ($m_problem, $m_story, $m_gaps, $m_last_gap, @m_after) = gap_story(@mev);
    t_debug("slow: the stalled meta WebSocket got $m_story");
    ok t_cmp($m_problem, '',
             'slow: the stalled meta WebSocket: in order from the first, each hole'
             . ' told by a gap notice naming its newest lost message, the oldest'
             . ' buffered next');
    ok t_cmp($m_last_gap // 'no notice', $N - 10,
             'slow: the last meta gap notice: the newest lost is the one before the last 10');
    ok t_cmp($m_gaps ? $m_bodies : 'no notice', '', 'slow: the meta gap notices: empty bodies');
    ok t_cmp(runs(@m_after) . ($m_close ? " then close $m_close" : ''), ($N - 9) . "-$N",
             'slow: after the last meta gap notice: the last 10, and no Close');
    my $dgaps;
    wait_for(sub { $dgaps = gaps_counted() - $gaps0; $dgaps >= 3 }, 10);
    ok t_num($dgaps, '>=', 3, 'slow: push-status subscriber_gaps increase');
    # Each is in the error log, at info, with its channel.
    my $log = '';
    if (open my $lf, '<', Apache::Test::config()->{vars}{t_logs} . '/error_log') {
        $log = join '', grep { /missed messages/ && /\Q$ch\E/ } <$lf>;
        close $lf;
    }
    my $logged = () = $log =~ /subscriber on channel \Q$ch\E missed messages up to/g;
    ok t_num($logged, '>=', 3, "slow: gaps logged with the channel ('missed messages' lines for $ch)");
    close $_->{sock} for $sws, $ses, $smw, $rd, $pc;
}

# --- 4. back-pressure: a client that publishes and does not read -------
# Its echoes fill its own small window; from then on the server does not
# read it either, so its writes stall (TCP back-pressure) instead of the
# server taking everything it sends.  The channel's other subscriber is
# not held up.

{
    my $ch = fresh_channel('bp');
    my $w = ws_connect("/burst/$ch", conn => small_conn(4096));
    my $other = sse_open("/burst/$ch");
    ok t_cmp(wait_for_value(sub { chan_subs($ch) }, 2, 10), 2,
             'back-pressure: subscribers (the publishing WebSocket, an event stream)');
    my $sock = $w->{sock};
    $sock->blocking(0);
    my $frame = ws_frame(1, 'p' x 1000);
    my ($sent, $limit, $pending) = (0, 64 * 1024 * 1024, '');
    my $t = time;
    my $others = 0;
    while ($sent < $limit && time - $t < 10) {
        $pending = $frame x 64 if $pending eq '';
        my $n = syswrite($sock, $pending);
        if (defined $n && $n > 0) {
            $sent += $n;
            substr($pending, 0, $n) = '';
            next;
        }
        # The socket is full: let the event stream read meanwhile.
        while (my $e = sse_event($other, 0.05)) {
            $others++ if defined $e->{data} && $e->{data} =~ /^p+$/;
        }
    }
    t_debug(sprintf "back-pressure: %.1f MB written in %.1f s, the event stream read %d",
            $sent / 1048576, time - $t, $others);
    ok t_num($sent / 1048576, '<', 32,
             'back-pressure: MB a non-reading publisher could write in 10 s');
    ok t_num($others, '>', 0,
             'back-pressure: the event stream on the channel still gets messages');
    close $w->{sock};
    close $other->{sock};
}

# --- 5. the server still answers ---------------------------------------

my $st = request('GET', '/status');
ok t_cmp($st && $st->{status}, 200, 'status after all: status');
ok t_true($st && ($st->{status} // '') eq '200'
          && eval { defined json($st->{body})->{subscriber_gaps} },
          'status after all: JSON with subscriber_gaps');
