package parts

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// NginxConfig configures nginx as a reverse proxy in front of the hub.
type NginxConfig struct {
	// WrittenBy ends the generated config's first line, "# written by …".
	WrittenBy string
	// Dir is nginx's prefix: its config, log, pid file and temporary
	// directories.
	Dir string
	// Sites is what goes inside the http {} block — server blocks such as
	// deploy/nginx/shouwang.conf — with its ports and paths final.
	Sites string
	// Ports are the 127.0.0.1 ports Sites listen on; nginx is ready when
	// all accept connections. The caller picks them (FreePort), since the
	// hub behind the proxy must know its public address before nginx
	// starts.
	Ports []int
}

// Nginx is Debian's nginx in the foreground (daemon off), with everything
// it writes under its own prefix.
type Nginx struct {
	Proc *Proc
	cfg  NginxConfig
}

// NewNginx prepares nginx running the program at path; Start starts it.
func NewNginx(path string, cfg NginxConfig) *Nginx {
	conf := filepath.Join(cfg.Dir, "nginx.conf")
	return &Nginx{cfg: cfg, Proc: &Proc{
		Name: "nginx",
		Path: path,
		// -e stderr: the log before the config is read goes to the log
		// file too, not to /var/log/nginx (which a non-root user cannot
		// open).
		Args:    []string{"-p", cfg.Dir + "/", "-c", conf, "-e", "stderr"},
		LogPath: filepath.Join(cfg.Dir, "nginx.log"),
	}}
}

// Start writes the config and starts nginx, waiting up to timeout until
// every port accepts connections.
func (n *Nginx) Start(timeout time.Duration) error {
	switch {
	case n.cfg.Dir == "":
		return errors.New("nginx: Dir is required")
	case n.cfg.Sites == "":
		return errors.New("nginx: Sites is required")
	case len(n.cfg.Ports) == 0:
		return errors.New("nginx: Ports is required")
	}
	for _, d := range []string{"tmp", "logs"} {
		if err := os.MkdirAll(filepath.Join(n.cfg.Dir, d), 0o755); err != nil {
			return fmt.Errorf("nginx: %w", err)
		}
	}
	if err := os.WriteFile(filepath.Join(n.cfg.Dir, "nginx.conf"), []byte(nginxConf(n.cfg)), 0o644); err != nil {
		return fmt.Errorf("nginx: write config: %w", err)
	}
	return n.Proc.Start(n.Accepting, timeout)
}

// Accepting reports whether every port accepts connections.
func (n *Nginx) Accepting() bool {
	for _, p := range n.cfg.Ports {
		if !Dialable(net.JoinHostPort("127.0.0.1", strconv.Itoa(p))) {
			return false
		}
	}
	return true
}

// Dir returns nginx's prefix directory.
func (n *Nginx) Dir() string { return n.cfg.Dir }

// nginxConf returns nginx.conf: one worker in the foreground, logs to
// stderr (the process log), temporary files under Dir, and Sites in the
// http block.
func nginxConf(cfg NginxConfig) string {
	var b strings.Builder
	line := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	line("# written by %s", cfg.WrittenBy)
	line("daemon off;")
	line("worker_processes 1;")
	line("pid %s;", filepath.Join(cfg.Dir, "nginx.pid"))
	line("error_log stderr info;")
	if u, err := user.Current(); err == nil && u.Uid == "0" {
		// As root, workers would switch to "nobody", which cannot read
		// the test's certificate or write its temporary directory.
		line("user root;")
	}
	line("events {")
	line("    worker_connections 512;")
	line("}")
	line("http {")
	line("    access_log /dev/stderr;")
	line("    default_type application/octet-stream;")
	for _, t := range []string{"client_body", "proxy", "fastcgi", "uwsgi", "scgi"} {
		line("    %s_temp_path %s;", t, filepath.Join(cfg.Dir, "tmp", t))
	}
	line("    # Sites")
	b.WriteString(cfg.Sites)
	if !strings.HasSuffix(cfg.Sites, "\n") {
		b.WriteByte('\n')
	}
	line("}")
	return b.String()
}
