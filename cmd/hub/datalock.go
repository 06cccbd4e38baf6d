package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// lockFile is the data directory's lock, taken before anything in the
// directory is opened: two hubs on one data directory would both write the
// SQLite files, the spool and the broker's store.
const lockFile = "hub.lock"

// lockDataDir takes an exclusive lock (flock) on dir's lock file, creating
// it if needed, and writes this process's ID into it. The lock lasts until
// the returned file is closed (or the process ends, however it ends). When
// another process holds it, the error names that process.
func lockDataDir(dir string) (*os.File, error) {
	path := filepath.Join(dir, lockFile)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o640)
	if err != nil {
		return nil, fmt.Errorf("-data / HUB_DATA_DIR %s: lock: %w", dir, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		holder := readHolder(f)
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("-data / HUB_DATA_DIR %s is in use by another hub (pid %s, holding %s); one hub per data directory", dir, holder, path)
		}
		return nil, fmt.Errorf("-data / HUB_DATA_DIR %s: lock %s: %w", dir, path, err)
	}
	// Ours now: say who holds it, for the next one to ask. Only the
	// message of a refused hub depends on it, so a failure is ignored.
	if f.Truncate(0) == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return f, nil
}

// readHolder returns the process ID written in the lock file, or "unknown".
func readHolder(f *os.File) string {
	b, err := io.ReadAll(io.LimitReader(f, 32))
	if s := strings.TrimSpace(string(b)); err == nil && s != "" {
		if _, err := strconv.Atoi(s); err == nil {
			return s
		}
	}
	return "unknown"
}
