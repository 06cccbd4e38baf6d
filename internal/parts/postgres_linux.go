package parts

import (
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"strconv"
	"syscall"
)

// postgresIDs returns the postgres system user's uid and gid, and whether
// the caller is root and so must hand the server to that user.
func postgresIDs() (uid, gid int, asRoot bool, err error) {
	if os.Geteuid() != 0 {
		return 0, 0, false, nil
	}
	u, err := user.Lookup(PostgresUser)
	if err != nil {
		return 0, 0, true, fmt.Errorf("postgres: running as root, and no %q system user to run the server as (Debian's postgresql package makes it): %w", PostgresUser, err)
	}
	uid, _ = strconv.Atoi(u.Uid)
	gid, _ = strconv.Atoi(u.Gid)
	return uid, gid, true, nil
}

// runAsPostgres makes cmd run as the postgres system user when the caller
// is root; otherwise it leaves cmd alone. A missing user shows up as the
// program's own refusal to run as root.
func runAsPostgres(cmd *exec.Cmd) {
	uid, gid, asRoot, err := postgresIDs()
	if !asRoot || err != nil {
		return
	}
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Credential = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	// The server's environment must not point it at root's home.
	env := cmd.Env
	if env == nil {
		env = os.Environ()
	}
	cmd.Env = append(env, "HOME=/tmp")
}

// chownToPostgres gives dir to the postgres system user when the caller is
// root.
func chownToPostgres(dir string) error {
	uid, gid, asRoot, err := postgresIDs()
	if err != nil || !asRoot {
		return err
	}
	if err := os.Chown(dir, uid, gid); err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	return nil
}
