# A small HTTP application for the tests, reached through mod_proxy: it
# listens on the port that extra.conf's "ProxyPass <prefix>
# http://127.0.0.1:<port>/" names, in a process of its own, one connection
# at a time, and $handler->($c, $req) answers each request on socket $c,
# where $req is { method, path, headers => { lc name => value }, body,
# head } (head: the request line and headers as they came).
# Stopped at the end of the test, or earlier with ->stop.
package PushApp;
use strict;
use warnings;
use Apache::Test ();
use IO::Socket::INET ();
use POSIX ();

my @running;

sub start {
    my ($class, $prefix, $handler) = @_;
    my $vars = Apache::Test::config()->{vars};
    open my $fh, '<', "$vars->{t_conf}/extra.conf" or die "extra.conf: $!";
    my $conf = do { local $/; <$fh> };
    my ($port) = $conf =~ m{ProxyPass \Q$prefix\E http://127\.0\.0\.1:(\d+)/}
        or die "extra.conf has no ProxyPass $prefix to 127.0.0.1";
    my $listen = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => $port,
                                       Listen => 64, ReuseAddr => 1)
        or die "listen $port: $!";
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        while (my $c = $listen->accept) {
            my ($head, $line) = ('');
            while (defined($line = <$c>)) { $head .= $line; last if $line =~ /^\r?\n$/ }
            my ($method, $path) = $head =~ /^(\S+) (\S+)/;
            my %h = map { /^([^:]+):\s*(.*?)\r?$/ ? (lc $1 => $2) : () } split /\n/, $head;
            my $body = '';
            read($c, $body, $h{'content-length'}) if $h{'content-length'};
            $handler->($c, { method => $method // '', path => $path // '',
                             headers => \%h, body => $body, head => $head });
            close $c;
        }
        POSIX::_exit(0);
    }
    close $listen;
    my $self = bless { pid => $pid }, $class;
    push @running, $self;
    return $self;
}

sub stop {
    my $self = shift;
    return unless $self->{pid};
    kill 'TERM', $self->{pid};
    waitpid($self->{pid}, 0);
    $self->{pid} = 0;
}

END { local $?; $_->stop for @running }

1;
