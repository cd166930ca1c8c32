package PushRedis;
# A private redis-server for the backplane tests: 127.0.0.1, a free
# port, its own directory; appendonly with appendfsync always unless
# told otherwise.  It can be stopped, killed -9 and started again on
# the same port and directory, and asked things through redis-cli.
use strict;
use warnings;

use File::Temp qw(tempdir);
use IO::Socket::INET ();
use Time::HiRes qw(time sleep);

# For plan's need: the reason to skip, when redis-server is missing.
sub need { return { 'redis-server is not installed (Debian: apt-get install redis-server)'
                    => defined program() } }

# The configuration of a server of the backplane tests on Redis $urls:
# a short PushRedisTimeout, the bridge's log, a buffer on /pub.
sub server_conf {
    my ($urls) = @_;
    return "PushRedis $urls\nPushRedisTimeout 500ms\nLogLevel notice push:info\n"
        . "<Location /pub>\n PushMessageBufferLength 100\n</Location>\n";
}

# The redis-server program, or undef when it is not installed.
sub program {
    for my $d (split /:/, "$ENV{PATH}:/usr/bin:/usr/sbin") {
        return "$d/redis-server" if -x "$d/redis-server";
    }
    return undef;
}

sub start {
    my ($class, %o) = @_;
    my $bin = program() or return undef;
    my $probe = IO::Socket::INET->new(Listen => 1, LocalAddr => '127.0.0.1', LocalPort => 0)
        or die "no free port: $!";
    my $self = bless { bin => $bin, port => $probe->sockport,
                       dir => tempdir(CLEANUP => 1),
                       fsync => $o{appendfsync} || 'always',
                       tls => $o{tls} }, $class;
    close $probe;
    $self->make_certs if $self->{tls};
    return $self->run ? $self : undef;
}

# (Re)starts it; 1 once it answers PING.
sub run {
    my ($self) = @_;
    my $pid = fork;
    die "fork: $!" unless defined $pid;
    if (!$pid) {
        open STDOUT, '>', "$self->{dir}/redis.out";
        open STDERR, '>&', \*STDOUT;
        exec $self->{bin}, '--bind', '127.0.0.1',
            $self->{tls}
                # TLS only, and a client certificate signed by its CA
                # wanted (as a managed Redis may).
                ? ('--port', 0, '--tls-port', $self->{port},
                   '--tls-cert-file', $self->file('srv.crt'),
                   '--tls-key-file', $self->file('srv.key'),
                   '--tls-ca-cert-file', $self->file('ca.crt'),
                   '--tls-auth-clients', 'yes')
                : ('--port', $self->{port}),
            '--dir', $self->{dir}, '--save', '',
            $self->{cluster}
                ? ('--appendonly', 'no', '--cluster-enabled', 'yes',
                   '--cluster-node-timeout', '1000')
                : ('--appendonly', 'yes', '--appendfsync', $self->{fsync}),
            '--daemonize', 'no', '--logfile', 'redis.log';
        exit 127;
    }
    $self->{pid} = $pid;
    my $until = time + 10;
    while (time < $until) {
        return 1 if ($self->cli('PING') // '') eq 'PONG';
        sleep 0.05;
    }
    return 0;
}

sub url { ($_[0]{tls} ? 'rediss' : 'redis') . "://127.0.0.1:$_[0]{port}" }

# A file of its TLS setup (tls => 1), in its directory: ca.crt (the CA
# that signed srv.crt, for 127.0.0.1 and localhost, and cli.crt with
# cli.key, a client certificate), other.crt (a CA that signed nothing).
sub file { "$_[0]{dir}/$_[1]" }

sub make_certs {
    my ($self) = @_;
    my $d = $self->{dir};
    my $k = '-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes';
    my $q = '>/dev/null 2>&1';
    for my $ca (qw(ca other)) {
        system("openssl req -x509 $k -keyout $d/$ca.key -out $d/$ca.crt -days 2 -subj /CN=$ca $q") == 0
            or die "openssl: cannot make the test CA $ca";
    }
    my %ext = (srv => 'subjectAltName=IP:127.0.0.1,DNS:localhost', cli => 'extendedKeyUsage=clientAuth');
    for my $w (qw(srv cli)) {
        open my $e, '>', "$d/$w.ext" or die $!;
        print $e "$ext{$w}\n";
        close $e;
        system("openssl req $k -keyout $d/$w.key -out $d/$w.csr -subj /CN=$w $q "
               . "&& openssl x509 -req -in $d/$w.csr -CA $d/ca.crt -CAkey $d/ca.key "
               . "-CAcreateserial -out $d/$w.crt -days 2 -extfile $d/$w.ext $q") == 0
            or die "openssl: cannot make the test certificate $w";
    }
}

# The PushRedisTLS* lines for a server of this Redis: its CA, and the
# client certificate.
sub tls_conf {
    my ($self) = @_;
    return "PushRedisTLSCACertificateFile " . $self->file('ca.crt') . "\n"
        . "PushRedisTLSCertificateFile " . $self->file('cli.crt') . "\n"
        . "PushRedisTLSCertificateKeyFile " . $self->file('cli.key') . "\n";
}

# One command through redis-cli: its output, trimmed (undef when it
# could not connect).
sub cli {
    my ($self, @cmd) = @_;
    my @tls = $self->{tls} ? ('--tls', '--cacert', $self->file('ca.crt'), '--cert', $self->file('cli.crt'),
                              '--key', $self->file('cli.key')) : ();
    open my $fh, '-|', 'redis-cli', '-h', '127.0.0.1', '-p', $self->{port}, @tls, @cmd
        or return undef;
    local $/;
    my $out = <$fh>;
    close $fh;
    return undef if $? != 0 || !defined $out || $out =~ /Could not connect/;
    $out =~ s/\s+\z//;
    return $out;
}

# Stops it with signal $sig (TERM, or KILL for a crash) and waits.
sub stop {
    my ($self, $sig) = @_;
    return unless $self->{pid};
    kill $sig || 'TERM', $self->{pid};
    waitpid $self->{pid}, 0;
    delete $self->{pid};
}

sub DESTROY {
    my ($self) = @_;
    local $?;               # its waitpid must not become the test's exit code
    $self->stop('KILL') if $self->{pid};
}

# A Redis Cluster of three masters with a replica each (six of the
# above, cluster-enabled, node timeout 1 s, no persistence), made with
# redis-cli --cluster create; undef when it cannot be made.
sub cluster {
    my ($class) = @_;
    program() or return undef;
    my @nodes;
    for (1 .. 6) {
        my $n;
        # A cluster's bus port is its port + 10000: both must be free.
        for (1 .. 100) {
            my $probe = IO::Socket::INET->new(Listen => 1, LocalAddr => '127.0.0.1', LocalPort => 0)
                or die "no free port: $!";
            my $port = $probe->sockport;
            close $probe;
            next if $port > 55535;
            my $bus = IO::Socket::INET->new(Listen => 1, LocalAddr => '127.0.0.1', LocalPort => $port + 10000)
                or next;
            close $bus;
            $n = bless { bin => program(), port => $port, dir => tempdir(CLEANUP => 1),
                         cluster => 1 }, $class;
            last;
        }
        $n && $n->run or return undef;
        push @nodes, $n;
    }
    system(join(' ', 'redis-cli', '--cluster', 'create', (map { "127.0.0.1:$_->{port}" } @nodes),
                '--cluster-replicas', '1', '--cluster-yes', '>/dev/null', '2>&1')) == 0
        or return undef;
    my $c = bless { nodes => \@nodes }, 'PushRedis::Cluster';
    return $c->wait_ok(20) ? $c : undef;
}

package PushRedis::Cluster;
use Time::HiRes qw(time sleep);

sub nodes { @{ $_[0]{nodes} } }
# PushRedis' value: the first three nodes as seeds (two may be killed,
# and a child process the MPM starts afterwards must still find one).
sub urls { join ' ', map { $_->url } @{ $_[0]{nodes} }[0 .. 2] }

# Until every running node says the cluster is ok and every replica's
# link is up: 1, or 0 after $secs.
sub wait_ok {
    my ($self, $secs) = @_;
    my $until = time + $secs;
    while (time < $until) {
        my $ok = 1;
        for my $n (grep { $_->{pid} } $self->nodes) {
            my $info = $n->cli('CLUSTER', 'INFO') // '';
            my $repl = $n->cli('INFO', 'replication') // '';
            $ok = 0 unless $info =~ /cluster_state:ok/
                && ($repl =~ /role:master/ || $repl =~ /master_link_status:up/);
        }
        return 1 if $ok;
        sleep 0.1;
    }
    return 0;
}

# 1 when $node can go without a slot left uncovered: a replica, or a
# master with a replica that is up.
sub replaceable {
    my ($self, $node) = @_;
    my ($any) = grep { $_->{pid} && $_ != $node } $self->nodes;
    my $id = $node->cli('CLUSTER', 'MYID') // return 0;
    $id =~ s/\s+//g;
    my ($me, $replica);
    for my $line (split /\n/, $any->cli('CLUSTER', 'NODES') // '') {
        my @f = split ' ', $line;
        next unless @f > 7;
        $me = $f[2] if $f[0] eq $id;
        $replica = 1 if $f[3] eq $id && $f[2] =~ /slave/ && $f[2] !~ /fail/ && $f[7] eq 'connected';
    }
    return 0 unless defined $me;
    return $me =~ /slave/ || $replica ? 1 : 0;
}

# The node that is master of channel $ch's slot now, by a running node.
sub master_of {
    my ($self, $ch, $prefix) = @_;
    $prefix //= 'push:';
    my ($any) = grep { $_->{pid} } $self->nodes;
    my $slot = $any->cli('CLUSTER', 'KEYSLOT', "$prefix\{c:$ch}:m") // return undef;
    # "<id> <ip:port@bus> <flags> <master> <ping> <pong> <epoch> <link> <slot|a-b>..."
    for my $line (split /\n/, $any->cli('CLUSTER', 'NODES') // '') {
        my @f = split ' ', $line;
        next unless @f > 8 && $f[2] =~ /master/ && $f[2] !~ /fail/;
        my ($port) = $f[1] =~ /:(\d+)\@/ or next;
        for my $r (@f[8 .. $#f]) {
            my ($a, $b) = $r =~ /^(\d+)(?:-(\d+))?$/ or next;
            $b //= $a;
            next unless $a <= $slot && $slot <= $b;
            my ($n) = grep { $_->{port} == $port } $self->nodes;
            return $n;
        }
    }
    return undef;
}

1;
