# push.js, the module's own browser client, in headless Chromium
# (t/browser/pages.mjs drives the pages, t/browser/client.html holds the
# subscriber), and the shared board of `make run` (demo/):
#   - each of the four transports: messages published by POST, in order,
#     with ids, event names and types;
#   - fallback: the first transport the location serves;
#   - a page publishes over its WebSocket, pages on EventSource and long
#     poll get it; publishing by POST;
#   - resume: after a graceful restart, and after the page's network is
#     cut and restored, every message once;
#   - a gap: a page held offline past the buffer gets a gap event with the
#     newest missed id, then the oldest buffered message;
#   - the board: pages on different transports see each other's moves
#     within a second, chat, no console error, a screenshot
#     (t/logs/demo.png);
#   - push.js as a classic <script>.
# Skipped without Chromium or Node.js.
use strict;
use warnings FATAL => 'all';
use Apache::Test;
use Apache::TestUtil;
use PushTest;
use PushBrowser;
use Encode ();
use JSON::PP ();
use Time::HiRes qw(time sleep);

my @transports = qw(websocket eventsource longpoll poll);
plan tests => 1 + 6 * @transports + 3 + 4 + 2 * @transports + 1 + @transports + 7 + 2,
    need PushBrowser::need();

my $J = JSON::PP->new->canonical;
my $logs = Apache::Test::config()->{vars}{t_logs};

unless (ok t_cmp(PushBrowser::install_modules(), 1, 'npm ci: t/browser/node_modules as locked')) {
    print STDERR "# t/browser/node_modules could not be installed\n";
    exit 0;
}
my ($d, $ready) = PushBrowser->start(
    script => 'pages.mjs', log => 'browser-client.log',
    args => ['--base', 'http://' . Apache::TestRequest::hostport(), '--limit', 600]);
unless ($ready && $ready->{ready}) {
    $d->show_log;
    die "pages.mjs did not start: " . ($ready ? $J->encode($ready) : 'no answer');
}
my $failed = 0;
END { $d->show_log if $d && $failed }
sub check {
    my ($ok) = @_;
    $failed++ unless $ok;
    return $ok;
}

sub js {
    my ($page, $body) = @_;
    my $r = $d->cmd({ cmd => 'eval', page => $page, js => $body }, 30);
    t_debug("eval on $page failed: " . ($r ? $r->{why} // '' : 'no answer')) unless $r && $r->{ok};
    return $r && $r->{ok} ? $r->{value} : undef;
}
sub wait_js {
    my ($page, $expr, $timeout) = @_;
    my $r = $d->cmd({ cmd => 'wait', page => $page, js => $expr,
                      timeout => ($timeout || 10) * 1000 }, ($timeout || 10) + 10);
    return $r && $r->{ok} ? 1 : 0;
}
sub open_page {
    my ($page, $url) = @_;
    my $r = $d->cmd({ cmd => 'open', page => $page, url => $url }, 30);
    return $r && $r->{ok} ? 1 : 0;
}
# A page on client.html with a started subscriber; 1 once it connected.
sub sub_page {
    my ($page, $url, $opts) = @_;
    open_page($page, '/browser/client.html') && wait_js($page, 'window.ready === true')
        or return 0;
    js($page, 'return window.sub(' . $J->encode($url) . ', ' . $J->encode($opts || {}) . ')');
    return wait_js($page, 'window.R.connects >= 1', 15);
}
sub got { js($_[0], 'return window.R.messages') || [] }
sub page_log { t_debug("$_[0]: " . join(' | ', @{ js($_[0], 'return window.R.log') || [] })) }
sub offline { $d->cmd({ cmd => 'offline', page => $_[0], on => $_[1] ? JSON::PP::true : JSON::PP::false }) }

sub pub {
    my ($ch, $body, %h) = @_;
    my $path = delete $h{path};
    my $r = publish($ch, $body, headers => \%h, $path ? (path => $path) : ());
    die "publish to $ch: $r->{status}" unless $r->{status} =~ /^20[12]$/;
    return $r->{headers}{'x-push-message-id'};
}
sub url_of { my ($t, $ch) = @_; $t eq 'poll' ? "/poll/$ch" : "/sub/$ch" }

# --- Each transport: messages published by POST, in order, with ids,
#     event names and content types. ---
my $ch = fresh_channel('pushjs');
my %want;    # page => [data...] it must have, in order
for my $t (@transports) {
    my $ok = sub_page($t, url_of($t, $ch), { transports => [$t], pollInterval => 200 });
    ok check t_cmp($ok, 1, "$t: connected");
    ok check t_cmp(js($t, 'return window.S.transport'), $t, "$t: the transport in use");
}
my @msgs = (['first'],
            ["two\nlines", 'Content-Type' => 'text/x-two', 'X-EventSource-Event' => 'scores'],
            ["caf\xc3\xa9 \xe2\x98\x95", 'Content-Type' => 'text/plain; charset=utf-8'],
            ['{"k":1}', 'Content-Type' => 'application/json', 'X-EventSource-Event' => 'json-event']);
my (@ids, @data, @events, @types);
for my $m (@msgs) {
    my ($body, %h) = @$m;
    push @ids, pub($ch, $body, %h);
    push @data, Encode::decode_utf8($body);
    push @events, $h{'X-EventSource-Event'} // '(none)';
    push @types, $h{'Content-Type'} // '(none)';
}
for my $t (@transports) {
    wait_js($t, 'window.R.messages.length >= ' . @msgs, 10);
    sleep 0.3;    # a duplicate would come now
    my $g = got($t);
    page_log($t) unless @$g == @msgs;
    ok check t_cmp([map { $_->{data} } @$g], \@data, "$t: the messages, once each, in order");
    ok check t_cmp([map { $_->{id} // '(none)' } @$g], \@ids, "$t: their ids");
    ok check t_cmp([map { $_->{event} // '(none)' } @$g], \@events, "$t: their event names");
    # An event stream carries no type; the others carry what was published
    # (a poll's answer without one has whatever the server defaults to).
    my @wt = $t eq 'eventsource' ? ('(none)') x @types : @types;
    my @gt = map { $_->{contentType} // '(none)' } @$g;
    @gt = map { $types[$_] eq '(none)' ? '(none)' : $gt[$_] } 0 .. $#gt if $t =~ /poll/;
    ok check t_cmp(\@gt, \@wt, "$t: their content types");
    $want{$t} = [@data];
}

# --- Fallback: the first transport in the list the location serves. ---
for my $case (['/wsnone', 'eventsource'], ['/subnoes', 'longpoll'], ['/poll', 'poll']) {
    my ($loc, $expect) = @$case;
    my $page = "fallback$loc";
    sub_page($page, "$loc/" . fresh_channel('fb'));
    my $v = js($page, 'return [window.S.transport, window.R.transports.join(" ")]') || [];
    ok check t_cmp($v, [$expect, $expect], "default list at $loc: ends on $expect, trying nothing else");
    $d->cmd({ cmd => 'close', page => $page });
}

# --- Publishing from a page: over its WebSocket, and by POST. ---
{
    my $pch = fresh_channel('pagepub');
    sub_page('pw', "/wspub/$pch", { transports => ['websocket'] });
    sub_page('pe', "/sub/$pch", { transports => ['eventsource'], publishUrl => "/pub/$pch" });
    sub_page('pl', "/sub/$pch", { transports => ['longpoll'] });
    sleep 0.2;
    my $r = js('pw', 'return await window.S.publish("from the websocket")');
    t_debug('publish over the WebSocket: ' . $J->encode($r));
    my @seen;
    for my $p (qw(pw pe pl)) {
        wait_js($p, 'window.R.messages.length >= 1', 10);
        my $g = got($p);
        push @seen, join ' ', map { "$_->{data}" } @$g;
    }
    ok check t_cmp(\@seen, [('from the websocket') x 3],
                   'a message a page sent over its WebSocket: it, EventSource and long poll got it');
    my @sid = map { my $g = got($_); $g->[0] ? $g->[0]{id} // '(none)' : '(none)' } qw(pw pe pl);
    ok check t_cmp(scalar(keys %{{ map { $_ => 1 } @sid }}) == 1 && $sid[0] =~ /^\d+:\d+$/ ? 'one id' : "@sid",
                   'one id', 'the same id on every transport');
    my $p = js('pe', 'return await window.S.publish("by POST", {event: "posted"})');
    ok check t_cmp([$p && $p->{status}, $p && $p->{id} =~ /^\d+:\d+$/ ? 'an id' : ($p && $p->{id})],
                   [201, 'an id'], 'publish() without a WebSocket: POST to publishUrl, its status and id');
    wait_js('pw', 'window.R.messages.length >= 2', 10);
    my $g = got('pw');
    ok check t_cmp($g->[1] && "$g->[1]{data}/$g->[1]{event}", 'by POST/posted',
                   'the POSTed message, with its event name, on the WebSocket');
    $d->cmd({ cmd => 'close', page => $_ }) for qw(pw pe pl);
}

# --- Resume after a graceful restart: every message once. ---
sub server_pid {
    open my $fh, '<', "$logs/httpd.pid" or die "$logs/httpd.pid: $!";
    chomp(my $pid = <$fh>);
    return $pid;
}
sub expect_all {
    my ($label, $timeout) = @_;
    for my $t (@transports) {
        my $n = @{ $want{$t} };
        wait_js($t, "window.R.messages.length >= $n", $timeout || 20);
        sleep 0.3;
        my $g = got($t);
        page_log($t) unless @$g == $n;
        ok check t_cmp([map { $_->{data} } @$g], $want{$t}, "$t: $label");
    }
}
{
    my @c0 = map { js($_, 'return window.R.connects') } @transports;
    push @{ $want{$_} }, 'before the restart' for @transports;
    pub($ch, 'before the restart');
    kill 'USR1', server_pid() or die "kill USR1: $!";
    wait_for(sub { my $x = eval { request('GET', '/status', timeout => 2) }; $x && $x->{status} == 200 }, 20);
    for my $i (1 .. 2) {
        push @{ $want{$_} }, "after the restart $i" for @transports;
        pub($ch, "after the restart $i");
    }
    expect_all('every message once across a graceful restart');
    t_debug('connects before the restart: @c0; now: '
            . join(' ', map { js($_, 'return window.R.connects') } @transports));
}

# --- The network cut and restored: every message once. ---
{
    my %cut;
    offline($_, 1) for @transports;
    for my $t (@transports) {
        $cut{$t} = wait_js($t, 'window.R.disconnects.length > 0 && !window.S.connected', 10)
            ? 'disconnected' : 'still connected';
    }
    for my $i (1 .. 3) {
        push @{ $want{$_} }, "while offline $i" for @transports;
        pub($ch, "while offline $i");
    }
    offline($_, 0) for @transports;
    push @{ $want{$_} }, 'back online' for @transports;
    pub($ch, 'back online');
    ok check t_cmp(\%cut, { map { $_ => 'disconnected' } @transports },
                   'offline: every page let go of its connection');
    expect_all('every message once across a network cut');
}

# --- A gap: held offline past the buffer (10 at /pub10). ---
{
    my $gch = fresh_channel('gap');
    my $first = pub($gch, 'g0', path => "/pub10/$gch");
    for my $t (@transports) {
        sub_page("gap-$t", url_of($t, $gch), { transports => [$t], pollInterval => 200 });
        wait_js("gap-$t", 'window.R.messages.length >= 1', 10);
        offline("gap-$t", 1);
        wait_js("gap-$t", '!window.S.connected', 10);
    }
    # The server must see them gone, or it would keep their messages
    # for them (PushSubscriberBacklog).
    wait_for(sub { my $r = request('GET', "/pub/$gch"); $r->{status} == 200 && json($r->{body})->{subscribers} == 0 }, 15);
    my @gid = map { pub($gch, "g$_", path => "/pub10/$gch") } 1 .. 15;
    offline("gap-$_", 0) for @transports;
    for my $t (@transports) {
        my $p = "gap-$t";
        wait_js($p, 'window.R.messages.length >= 11', 15);
        my $g = got($p);
        my $gaps = js($p, 'return window.R.gaps') || [];
        page_log($p);
        ok check t_cmp({ gap => $gaps->[0] && $gaps->[0]{id}, next => $g->[1] && $g->[1]{data},
                         gap_before => $g->[1] && $g->[1]{gaps}, count => scalar @$g },
                       { gap => $gid[4], next => 'g6', gap_before => 1, count => 11 },
                       "$t: a gap event with the newest missed id, then the oldest buffered message");
        $d->cmd({ cmd => 'close', page => $p });
    }
}

# --- The shared board. ---
{
    my %player;
    my @board = (['ws', 'websocket', 'Ada'], ['lp', 'longpoll', 'Grace'],
                 ['es', 'eventsource', 'Linus'], ['sp', 'poll', 'Radia']);
    for my $b (@board) {
        my ($p, $t, $name) = @$b;
        open_page($p, "/demo/?transport=$t&name=$name");
        wait_js($p, 'window.DEMO && window.DEMO.sub && window.DEMO.sub.connected', 15);
        $player{$p} = js($p, 'return window.DEMO.me.p');
    }
    sleep 0.5;
    my $t0 = time;
    js('ws', 'window.DEMO.moveTo(0.25, 0.5); return true');
    my %sees;
    for my $p (qw(lp es sp)) {
        my $ok = wait_js($p, "(() => { const q = window.DEMO.players.get('$player{ws}');"
                         . " return q && q.x === 0.25 && q.y === 0.5; })()", 1);
        $sees{$p} = $ok ? sprintf('within a second') : 'not within a second';
        t_debug(sprintf "%s saw the move after %.0f ms", $p, (time - $t0) * 1000);
    }
    ok check t_cmp(\%sees, { map { $_ => 'within a second' } qw(lp es sp) },
                   'board: a WebSocket player\'s move, seen on long poll, EventSource and short poll');
    js('lp', 'window.DEMO.moveTo(0.75, 0.125); return true');
    ok check t_cmp(wait_js('ws', "(() => { const q = window.DEMO.players.get('$player{lp}');"
                                 . " return q && q.x === 0.75 && q.y === 0.125; })()", 1),
                   1, 'board: a long-poll player\'s move (by POST), seen on the WebSocket within a second');
    js('es', 'document.getElementById("chat-text").value = "hello board";'
             . ' document.getElementById("chat-form").requestSubmit(); return true');
    ok check t_cmp(wait_js('sp', '[...document.querySelectorAll("#chat-log li")].some(li => /hello board/.test(li.textContent))', 5),
                   1, 'board: a chat line from EventSource, on the short poll');
    ok check t_cmp({ map { $_->[0] => js($_->[0], 'return document.getElementById("r-transport").textContent') } @board },
                   { map { $_->[0] => $_->[1] } @board }, 'board: the readout names each page\'s transport');
    ok check t_cmp(js('ws', 'return window.DEMO.players.size'), 4, 'board: four players');
    my $shot = "$logs/demo.png";
    unlink $shot;
    $d->cmd({ cmd => 'screenshot', page => 'ws', path => $shot }, 30);
    my $png = -f $shot ? do { open my $fh, '<:raw', $shot; local $/; <$fh> } : '';
    ok check t_cmp([substr($png, 0, 8) eq "\x89PNG\r\n\x1a\n" ? 'PNG' : 'no PNG', length($png) > 5000 ? 'not empty' : length $png],
                   ['PNG', 'not empty'], "board: a screenshot ($shot)");
    my %errors = map { my $r = $d->cmd({ cmd => 'eval', page => $_->[0], js => 'return 1' }); ($_->[0] => $r ? $r->{errors} : ['no answer']) } @board;
    ok check t_cmp(\%errors, { map { $_->[0] => [] } @board }, 'board: no console error or exception on any page');
}

# --- push.js as a classic script; no exception on the client pages. ---
open_page('classic', '/browser/client-classic.html');
ok check t_cmp(js('classic', 'return window.classic'), 1, 'a classic <script src="/push.js">: window.PushSubscriber');
my %errors = map { my $r = $d->cmd({ cmd => 'eval', page => $_, js => 'return 1' }); ($_ => $r ? $r->{errors} : ['no answer']) } @transports, 'classic';
ok check t_cmp(\%errors, { map { $_ => [] } @transports, 'classic' }, 'no console error or exception on the client pages');

$d->end;
