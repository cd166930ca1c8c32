package PushServer;
# A private httpd for tests that need a configuration of their own (an
# MPM sizing, a server-wide limit): the suite's MPM and core modules,
# mod_push from the build tree, a free port on 127.0.0.1, its own
# directory, log and pid file.
use strict;
use warnings;

use Apache::Test ();
use File::Temp qw(tempdir);
use IO::Select ();
use IO::Socket::INET ();
use Time::HiRes qw(time sleep);
use PushTest ();

# The suite's MPM ('event', 'worker' or 'prefork').
sub mpm {
    my $t_dir = Apache::Test::config()->{vars}{t_dir};
    open my $fh, '<', "$t_dir/conf/httpd.conf" or die $!;
    my ($mpm) = map { /^\s*LoadModule\s+mpm_(\w+)_module/ ? $1 : () } <$fh>;
    close $fh;
    return $mpm || 'event';
}

# Another MPM than the suite's, for a server beside it: prefork beside
# event or worker, else event.
sub other_mpm { mpm() eq 'prefork' ? 'event' : 'prefork' }

# Starts one: %o{conf} is appended to the configuration (directives,
# sections); /sub, /pub and /status are push locations, /static.txt a
# file; %o{mpm} another MPM than the suite's; %o{nofile} "soft:hard"
# descriptor limits to start it under (prlimit).  Returns the server
# (undef when it did not come up).
my @started;    # every server start() made, for END

sub start {
    my (%o) = @_;
    my $vars = Apache::Test::config()->{vars};
    my $t_dir = $vars->{t_dir};
    open my $fh, '<', "$t_dir/conf/httpd.conf" or die $!;
    my @load = grep { /^\s*LoadModule\s+(mpm_\w+|authz_core_module|authz_host_module)\s/ } <$fh>;
    close $fh;
    s/mpm_\w+_module (\S*)mod_mpm_\w+\.so/mpm_$o{mpm}_module $1mod_mpm_$o{mpm}.so/ for $o{mpm} ? @load : ();
    # The AddressSanitizer run (make test-asan) loads its build here too.
    my $so = "$t_dir/../.libs/mod_push.so";
    my $asan_so = "$t_dir/../build/asan-module/.libs/mod_push.so";
    $so = $asan_so if $ENV{PUSH_ASAN} && -e $asan_so;
    my $dir = tempdir(CLEANUP => 1);
    my $probe = IO::Socket::INET->new(Listen => 1, LocalAddr => '127.0.0.1', LocalPort => 0)
        or die "no free port: $!";
    my $port = $probe->sockport;
    close $probe;
    mkdir "$dir/htdocs";
    open my $st, '>', "$dir/htdocs/static.txt" or die $!;
    print $st "plain page\n";
    close $st;
    open my $out, '>', "$dir/httpd.conf" or die $!;
    print $out "ServerRoot $dir\nServerName localhost\nListen 127.0.0.1:$port\n",
        "ErrorLog $dir/error_log\nLogLevel notice\nPidFile $dir/httpd.pid\n",
        "DefaultRuntimeDir $dir\nDocumentRoot $dir/htdocs\n", @load,
        "LoadModule push_module $so\n",
        "PushSharedMemorySize 1M\nKeepAlive On\nTimeout 10\n",
        "<Location /sub>\n SetHandler push-subscriber\n</Location>\n",
        "<Location /pub>\n SetHandler push-publisher\n</Location>\n",
        "<Location /status>\n SetHandler push-status\n</Location>\n",
        $o{conf} || '';
    close $out;
    my $self = bless { dir => $dir, port => $port, httpd => $vars->{httpd}, owner => $$ }, __PACKAGE__;
    my @limit = $o{nofile} ? ('prlimit', "--nofile=$o{nofile}", '--') : ();
    system(@limit, $self->{httpd}, '-f', "$dir/httpd.conf", '-k', 'start') == 0 or return undef;
    push @started, $self;
    my $up = PushTest::wait_for(sub {
        IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port", Timeout => 1) ? 1 : 0;
    }, 15);
    sleep 0.5;     # every prefork child up
    return $up ? $self : undef;
}

# Its error log, the lines matching $re.
sub log_lines {
    my ($self, $re) = @_;
    open my $log, '<', "$self->{dir}/error_log" or return ();
    my @l = grep { /$re/ } <$log>;
    close $log;
    return @l;
}

# One request on a new connection: status, head and what came within
# `wait` seconds, and how long it took.  The connection is kept (sock)
# only for a 200 to a GET of /sub/: a client that is done closes, or
# worker and prefork threads linger on it (httpd waits up to 2 s).
sub ask {
    my ($self, $req, $wait) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$self->{port}", Timeout => 5)
        or return { status => 0, took => 0, head => '' };
    $s->autoflush(1);
    my $t = time;
    print $s $req;
    my $buf = '';
    my $sel = IO::Select->new($s);
    while (time - $t < $wait && $buf !~ /\r\n\r\n/) {
        next unless $sel->can_read(0.05);
        my $n = sysread($s, $buf, 65536, length $buf);
        last unless $n;
    }
    # The body of a short answer, for its reason.
    while ($buf =~ /\r\n\r\n/ && $buf =~ /^Content-Length: (\d+)/mi
           && length($buf) - index($buf, "\r\n\r\n") - 4 < $1 && time - $t < $wait) {
        next unless $sel->can_read(0.05);
        sysread($s, $buf, 65536, length $buf) or last;
    }
    my ($status) = $buf =~ m{^HTTP/1\.\d (\d{3})};
    my $took = time - $t;
    if (($status || 0) != 200 || $req !~ m{^GET /sub/}) {
        close $s;
        undef $s;
    }
    return { status => $status || 0, head => $buf, took => $took, sock => $s };
}

# The parent's pid (undef when it is not running).
sub parent_pid {
    my ($self) = @_;
    open my $fh, '<', "$self->{dir}/httpd.pid" or return undef;
    my ($ppid) = (<$fh> // '') =~ /(\d+)/;
    close $fh;
    return $ppid;
}

# Its processes: the parent, then the children.
sub pids {
    my ($self) = @_;
    my $ppid = $self->parent_pid or return ();
    opendir my $d, '/proc' or return ();
    my @p = ($ppid);
    for my $p (grep { /^\d+$/ } readdir $d) {
        open my $s, '<', "/proc/$p/stat" or next;
        my ($pp) = (<$s> // '') =~ /\) \S (\d+)/;
        close $s;
        push @p, $p if ($pp || 0) == $ppid;
    }
    closedir $d;
    return @p;
}

# What its processes hold: { fds, threads, rss (kB), procs }.
sub usage {
    my ($self) = @_;
    my %u = (fds => 0, threads => 0, rss => 0, procs => 0);
    for my $p ($self->pids) {
        opendir my $d, "/proc/$p/fd" or next;
        $u{fds} += grep { /^\d+$/ } readdir $d;
        closedir $d;
        open my $s, '<', "/proc/$p/status" or next;
        while (<$s>) {
            $u{threads} += $1 if /^Threads:\s+(\d+)/;
            $u{rss} += $1 if /^VmRSS:\s+(\d+)/;
        }
        close $s;
        $u{procs}++;
    }
    return \%u;
}

# Stops it; 1 once its pid file is gone.
sub stop {
    my ($self) = @_;
    $self->{stopped} = 1;
    system($self->{httpd}, '-f', "$self->{dir}/httpd.conf", '-k', 'stop');
    return PushTest::wait_for(sub { !-e "$self->{dir}/httpd.pid" }, 15);
}

# A test that died before stopping its servers leaves none running (by
# the process that started them; not by a forked child's exit).
END {
    local $?;
    $_->stop for grep { !$_->{stopped} && $_->{owner} == $$ && -e "$_->{dir}/httpd.pid" } @started;
}

1;
