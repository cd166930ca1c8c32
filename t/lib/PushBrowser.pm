# Headless Chromium for the browser tests (13_browser.t, 26_client.t):
# whether it can run here, t/browser/node_modules installed as locked,
# and a driver — a node script under t/browser that takes one JSON command
# per line on stdin and answers with one JSON line on stdout.
package PushBrowser;
use strict;
use warnings FATAL => 'all';
use Apache::Test ();
use Apache::TestUtil qw(t_debug);
use IO::Select ();
use JSON::PP ();
use POSIX ();
use Time::HiRes qw(time sleep);

my $J = JSON::PP->new->utf8->canonical;
my %running;

sub chromium { $ENV{PUSH_CHROMIUM} || '/usr/bin/chromium' }

sub in_path {
    my $prog = shift;
    for my $d (split /:/, $ENV{PATH} || '') {
        return "$d/$prog" if length $d && -x "$d/$prog" && !-d _;
    }
    return undef;
}

sub node {
    my $node = in_path('node') or return undef;
    my $v = `'$node' --version 2>/dev/null` || '';
    return $v =~ /^v(\d+)\./ && $1 >= 18 ? $node : undef;
}

sub dir  { Apache::Test::config()->{vars}{serverroot} . '/browser' }
sub logs { Apache::Test::config()->{vars}{t_logs} }

# For `plan ..., need need()`.
sub need {
    my $c = chromium();
    return { "Chromium at $c (PUSH_CHROMIUM to change)" => -x $c,
             'Node.js 18 or later' => !!node(),
             'npm, to install t/browser/node_modules'
                 => (in_path('npm') || -d dir() . '/node_modules') };
}

sub modules_current {
    my $bdir = dir();
    my $lock = eval {
        open my $fh, '<', "$bdir/package-lock.json" or die;
        local $/;
        $J->decode(<$fh>);
    } or return 0;
    for my $k (grep { m{^node_modules/} } keys %{ $lock->{packages} }) {
        my $have = eval {
            open my $fh, '<', "$bdir/$k/package.json" or die;
            local $/;
            $J->decode(<$fh>)->{version};
        };
        return 0 unless defined $have && $have eq $lock->{packages}{$k}{version};
    }
    return 1;
}

# npm ci in t/browser unless node_modules holds what the lock says.
sub install_modules {
    return 1 if modules_current();
    my ($bdir, $logs) = (dir(), logs());
    # npm's cache under HOME when it is writable, else under t/logs.
    my $cache = ($ENV{HOME} && -d $ENV{HOME} && -w $ENV{HOME})
        ? "$ENV{HOME}/.npm" : "$logs/npm-cache";
    local $ENV{npm_config_cache} = $cache;
    local $ENV{npm_config_update_notifier} = 'false';
    local $ENV{npm_config_fund} = 'false';
    local $ENV{npm_config_audit} = 'false';
    my $log = "$logs/npm-ci.log";
    t_debug("npm ci in $bdir (cache $cache, log $log)");
    my $rc = system("cd '$bdir' && npm ci --no-audit --no-fund >'$log' 2>&1");
    if ($rc != 0) {
        print STDERR "# npm ci failed (exit " . ($rc >> 8) . "):\n";
        if (open my $fh, '<', $log) { print STDERR "#   $_" while <$fh> }
        return 0;
    }
    return modules_current();
}

# Starts `node t/browser/SCRIPT ARGS...` (stderr to t/logs/LOG) and reads
# its first line.  Returns (driver, first reply).
sub start {
    my ($class, %o) = @_;
    my $log = logs() . "/$o{log}";
    pipe(my $from_r, my $from_w) or die "pipe: $!";
    pipe(my $to_r, my $to_w) or die "pipe: $!";
    my $node = node();
    my $pid = fork;
    die "fork: $!" unless defined $pid;
    if (!$pid) {
        POSIX::setsid();
        close $from_r;
        close $to_w;
        open STDIN, '<&', $to_r or POSIX::_exit(126);
        open STDOUT, '>&', $from_w or POSIX::_exit(126);
        open STDERR, '>', $log or POSIX::_exit(126);
        exec $node, dir() . "/$o{script}", @{ $o{args} || [] },
            '--chromium', chromium()
            or POSIX::_exit(127);
    }
    close $to_r;
    close $from_w;
    $to_w->autoflush(1);
    $SIG{PIPE} = 'IGNORE';
    my $d = bless { pid => $pid, in => $to_w, out => $from_r, buf => '',
                    log => $log }, $class;
    $running{$pid} = $d;
    return ($d, $d->read($o{timeout} || 40));
}

# The next JSON line from the driver, or undef after $timeout seconds.
sub read {
    my ($d, $timeout) = @_;
    my $deadline = time + $timeout;
    for (;;) {
        if ($d->{buf} =~ s/^([^\n]*)\n//) {
            my $line = $1;
            my $v = eval { $J->decode($line) };
            return $v if $v;
            t_debug("driver said: $line");
            next;
        }
        my $left = $deadline - time;
        return undef if $left <= 0;
        IO::Select->new($d->{out})->can_read($left) or return undef;
        my $n = sysread($d->{out}, my $chunk, 1 << 20);
        return undef unless $n;
        $d->{buf} .= $chunk;
    }
}

sub cmd {
    my ($d, $cmd, $timeout) = @_;
    print { $d->{in} } $J->encode($cmd) . "\n" or return undef;
    return $d->read($timeout || 30);
}

sub end {
    my ($d) = @_;
    return unless $d && $running{ $d->{pid} };
    print { $d->{in} } qq({"cmd":"quit"}\n);
    close $d->{in};
    my $deadline = time + 15;
    my $gone = 0;
    while (time < $deadline) {
        if (waitpid($d->{pid}, POSIX::WNOHANG()) != 0) { $gone = 1; last }
        sleep 0.05;
    }
    unless ($gone) {
        kill 'TERM', -$d->{pid};
        sleep 3;
        kill 'KILL', -$d->{pid};
        waitpid($d->{pid}, 0);
    }
    close $d->{out};
    delete $running{ $d->{pid} };
}

sub show_log {
    my ($d) = @_;
    print STDERR "# --- $d->{log}:\n";
    if (open my $fh, '<', $d->{log}) { print STDERR "#   $_" while <$fh> }
}

END {
    for my $d (values %running) {
        kill 'TERM', -$d->{pid};
        waitpid($d->{pid}, 0);
    }
}

1;
