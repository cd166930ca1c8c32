# PushMaxChannels: past the limit a new channel is refused with 507 and a
# reason naming the directive, once in the log at warn; an empty channel
# makes way, and a deleted one frees its place.
use strict;
use warnings FATAL => 'all';
use Apache::Test;
use Apache::TestUtil;
use PushTest;
use PushServer;

plan tests => 8;

my $srv = PushServer::start(conf => "PushMaxChannels 3\n");
ok t_true($srv, 'a server with PushMaxChannels 3 starts');

sub pub {
    my ($ch) = @_;
    return $srv->ask("POST /pub/$ch HTTP/1.1\r\nHost: localhost\r\n"
                     . "Content-Length: 1\r\nConnection: close\r\n\r\nx", 5);
}

my @ok = map { pub("c$_")->{status} } 1 .. 3;
ok t_cmp("@ok", qr/^20[12] 20[12] 20[12]$/, 'three channels: published');
my $r = pub('c4');
ok t_cmp($r->{status}, 507, 'a fourth channel: status');
ok t_cmp($r->{head}, qr/PushMaxChannels/, 'a fourth channel: the reason names the directive');
my $sub = $srv->ask("GET /sub/c5 HTTP/1.1\r\nHost: localhost\r\n"
                    . "Accept: text/event-stream\r\nConnection: close\r\n\r\n", 5);
ok t_cmp($sub->{status}, 507, 'a subscriber to a fifth channel: status');

# A deleted channel frees its place.
my $del = $srv->ask("DELETE /pub/c1 HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n", 5);
ok t_cmp(pub('c4')->{status} =~ /^20[12]$/ ? 'published' : "status after the delete ($del->{status})",
         'published', 'a new channel once one was deleted');

my @warn = $srv->log_lines(qr/\[push:warn\].*PushMaxChannels/);
ok t_cmp(scalar @warn, 1, 'the limit said at warn, once (lines in the error log)');
ok t_true($srv->stop, 'the private server stopped');
