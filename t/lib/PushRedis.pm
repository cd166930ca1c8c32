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
                       fsync => $o{appendfsync} || 'always' }, $class;
    close $probe;
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
        exec $self->{bin}, '--bind', '127.0.0.1', '--port', $self->{port},
            '--dir', $self->{dir}, '--save', '', '--appendonly', 'yes',
            '--appendfsync', $self->{fsync}, '--daemonize', 'no',
            '--logfile', 'redis.log';
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

sub url { "redis://127.0.0.1:$_[0]{port}" }

# One command through redis-cli: its output, trimmed (undef when it
# could not connect).
sub cli {
    my ($self, @cmd) = @_;
    open my $fh, '-|', 'redis-cli', '-h', '127.0.0.1', '-p', $self->{port}, @cmd
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
    $self->stop('KILL') if $self->{pid};
}

1;
