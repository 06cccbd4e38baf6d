package testenv

import (
	"testing"

	"github.com/shouwang-hub/shouwang/internal/parts"
)

// NginxServer is Debian's nginx on loopback ports, as a reverse proxy.
type NginxServer struct {
	srv *parts.Nginx
}

// Nginx starts /usr/sbin/nginx in the foreground with a temporary prefix,
// serving sites (server blocks inside http {}, ports and paths final) on
// the given 127.0.0.1 ports, waits until they accept connections, and stops
// it when the test ends. The test picks the ports (FreePort): the hub
// behind the proxy must know its public address before nginx starts.
func Nginx(t testing.TB, sites string, ports ...int) *NginxServer {
	t.Helper()
	path := ToolPath(t, "nginx")
	srv := parts.NewNginx(path, parts.NginxConfig{
		WrittenBy: "internal/testenv for one test",
		Dir:       t.TempDir(),
		Sites:     sites,
		Ports:     ports,
	})
	startForTest(t, srv.Proc, srv.Start)
	return &NginxServer{srv: srv}
}

// Dir returns nginx's prefix: its config (nginx.conf) and log (nginx.log,
// error and access lines).
func (n *NginxServer) Dir() string { return n.srv.Dir() }

// Log returns the end of nginx's log, for a failure message.
func (n *NginxServer) Log() string { return n.srv.Proc.LogTail(8 << 10) }
