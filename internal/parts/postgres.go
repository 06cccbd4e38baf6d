package parts

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// PostgresUser is the database superuser the cluster is made with, and the
// system user the server runs as when the caller is root (initdb and
// postgres refuse to run as root).
const PostgresUser = "postgres"

// PostgresConfig configures a throw-away PostgreSQL cluster.
type PostgresConfig struct {
	// WrittenBy ends the first line of the settings appended to
	// postgresql.conf, "# written by …".
	WrittenBy string
	// Dir holds the cluster (Dir/data), the server's log and its Unix
	// socket. It must be reachable by the postgres system user when the
	// caller is root: NewPostgresDir makes such a directory.
	Dir string
	// Relaxed turns durability off (fsync, synchronous_commit,
	// full_page_writes) for speed: tests only, never a production setting.
	Relaxed bool
}

// Postgres is a PostgreSQL server on a loopback port with its own cluster
// in a directory of its own, made by initdb on the first start. Clients
// connect over TCP as the superuser "postgres" without a password (trust
// authentication, loopback only).
type Postgres struct {
	Proc *Proc
	cfg  PostgresConfig
	bin  string // the directory holding postgres, initdb and psql
	port int    // 0 until the first start
}

// FindPostgres returns the directory holding Debian's PostgreSQL server
// programs (postgres, initdb, psql): where PATH finds postgres, else the
// newest /usr/lib/postgresql/N/bin, where Debian puts them off PATH.
func FindPostgres() (string, error) {
	var dirs []string
	if p, err := exec.LookPath("postgres"); err == nil {
		dirs = append(dirs, filepath.Dir(p))
	}
	versions, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(versions, func(i, j int) bool { return pgVersion(versions[i]) > pgVersion(versions[j]) })
	dirs = append(dirs, versions...)
	for _, d := range dirs {
		ok := true
		for _, prog := range []string{"postgres", "initdb", "psql"} {
			if fi, err := os.Stat(filepath.Join(d, prog)); err != nil || fi.Mode()&0o111 == 0 {
				ok = false
			}
		}
		if ok {
			return d, nil
		}
	}
	return "", errors.New("postgres and initdb not found on PATH or in /usr/lib/postgresql/*/bin: run scripts/setup (it installs Debian's postgresql)")
}

// pgVersion is N of /usr/lib/postgresql/N/bin, 0 if it is not a number.
func pgVersion(dir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(dir)))
	return n
}

// NewPostgresDir makes a fresh temporary directory for a cluster, owned by
// the postgres system user when the caller is root. (A test's TempDir will
// not do as root: its parent is private to root.) The caller removes it.
func NewPostgresDir() (string, error) {
	dir, err := os.MkdirTemp("", "shouwang-pg-")
	if err != nil {
		return "", fmt.Errorf("postgres: %w", err)
	}
	if err := chownToPostgres(dir); err != nil {
		os.RemoveAll(dir)
		return "", err
	}
	return dir, nil
}

// NewPostgres prepares a server running the programs in bin (FindPostgres);
// Start makes the cluster and starts it.
func NewPostgres(bin string, cfg PostgresConfig) *Postgres {
	return &Postgres{cfg: cfg, bin: bin, Proc: &Proc{
		Name:       "postgres",
		Path:       filepath.Join(bin, "postgres"),
		LogPath:    filepath.Join(cfg.Dir, "postgres.log"),
		StopSignal: syscall.SIGINT, // fast shutdown: SIGTERM waits for every client to leave
		Prepare:    runAsPostgres,
	}}
}

// Start starts the server and waits up to timeout until it accepts
// connections. The first start runs initdb and picks a free port (trying
// another if a process took that one first); later starts reuse the port
// and the cluster.
func (s *Postgres) Start(timeout time.Duration) error {
	if s.cfg.Dir == "" {
		return errors.New("postgres: Dir is required")
	}
	if s.port != 0 {
		return s.Proc.Start(s.Ready, timeout)
	}
	if err := s.initdb(); err != nil {
		return err
	}
	return startOnFreePorts(s.Proc, []*int{&s.port}, s.setArgs, s.Ready, timeout)
}

// DataDir is the cluster's directory.
func (s *Postgres) DataDir() string { return filepath.Join(s.cfg.Dir, "data") }

// Port is the TCP port the server listens on, 0 before the first start.
func (s *Postgres) Port() int { return s.port }

// DSN returns the URL a client connects to database db with, as the
// superuser over loopback TCP.
func (s *Postgres) DSN(db string) string {
	return fmt.Sprintf("postgres://%s@127.0.0.1:%d/%s?sslmode=disable", PostgresUser, s.port, db)
}

// Ready reports whether the server accepts connections: postmaster.pid
// says "ready" (what pg_ctl -w waits for) and the port answers.
func (s *Postgres) Ready() bool {
	b, err := os.ReadFile(filepath.Join(s.DataDir(), "postmaster.pid"))
	if err != nil {
		return false
	}
	lines := strings.Split(string(b), "\n")
	// Line 8 is the postmaster's status (LOCK_FILE_LINE_PM_STATUS).
	return len(lines) >= 8 && strings.TrimSpace(lines[7]) == "ready" &&
		Dialable("127.0.0.1:"+strconv.Itoa(s.port))
}

// Exec runs SQL statements through psql against database db, stopping at
// the first error, which quotes psql's output.
func (s *Postgres) Exec(db, sql string) error {
	cmd := exec.Command(filepath.Join(s.bin, "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1",
		"-h", "127.0.0.1", "-p", strconv.Itoa(s.port), "-U", PostgresUser, "-d", db, "-c", sql)
	cmd.Env = append(os.Environ(), "PGCONNECT_TIMEOUT=10")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("psql %q: %v: %s", clipSQL(sql), err, bytes.TrimSpace(out))
	}
	return nil
}

func clipSQL(s string) string {
	if len(s) > 120 {
		return s[:120] + "…"
	}
	return s
}

// initdb makes the cluster, once: C locale (byte-order text, as SQLite
// sorts), UTF-8, trust authentication for the loopback-only server.
func (s *Postgres) initdb() error {
	if _, err := os.Stat(filepath.Join(s.DataDir(), "PG_VERSION")); err == nil {
		return nil
	}
	cmd := exec.Command(filepath.Join(s.bin, "initdb"), "-D", s.DataDir(), "-U", PostgresUser,
		"--auth=trust", "--encoding=UTF8", "--locale=C", "--no-sync", "--no-instructions")
	runAsPostgres(cmd)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("postgres: initdb: %v: %s", err, bytes.TrimSpace(out))
	}
	f, err := os.OpenFile(filepath.Join(s.DataDir(), "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("postgres: settings: %w", err)
	}
	_, err = f.WriteString(postgresConf(s.cfg))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("postgres: settings: %w", err)
	}
	return nil
}

// setArgs points the server at the cluster and the chosen port; the port
// is the only setting given on the command line, so a retry on another port
// rewrites nothing.
func (s *Postgres) setArgs() error {
	s.Proc.Args = []string{"-D", s.DataDir(), "-p", strconv.Itoa(s.port)}
	return nil
}

// postgresConf is what is appended to the cluster's postgresql.conf (a
// later line overrides an earlier one).
func postgresConf(cfg PostgresConfig) string {
	var b strings.Builder
	line := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	line("")
	line("# written by %s", cfg.WrittenBy)
	line("listen_addresses = '127.0.0.1'")
	line("unix_socket_directories = '%s'", cfg.Dir)
	line("max_connections = 200")
	line("shared_buffers = '64MB'")
	line("logging_collector = off")
	line("log_min_messages = warning")
	line("log_checkpoints = off")
	line("log_timezone = 'UTC'")
	line("timezone = 'UTC'")
	if cfg.Relaxed {
		line("# tests only: a crash of the machine may lose or corrupt this cluster")
		line("fsync = off")
		line("synchronous_commit = off")
		line("full_page_writes = off")
	}
	return b.String()
}
