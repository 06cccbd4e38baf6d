package brokeracct

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/shouwang-hub/shouwang/devices"
	"github.com/shouwang-hub/shouwang/internal/atomicfile"
)

// Files the hub keeps for mosquitto in its directory: password_file and
// acl_file in mosquitto.conf name them.
const (
	PasswordFile = "passwd"
	ACLFile      = "acl"
)

// sysBacklog is the one $SYS topic the hub reads from mosquitto: how many
// messages it holds (the hub's backlog watch).
const sysBacklog = "$SYS/broker/store/messages/count"

// MosquittoFiles returns mosquitto's password file (user:$7$… lines) and
// ACL file (a "user" block of "topic" lines per account, from the topic
// policy) for the accounts held now, in ID order. The hub's service
// account is in both; without its password (ServicePassword) it is only in
// the ACL, and its password line must be added by hand (mosquitto_passwd).
func (a *Accounts) MosquittoFiles() (passwd, acl []byte) {
	a.mu.RLock()
	ids := make([]string, 0, len(a.byID))
	for id := range a.byID {
		ids = append(ids, id)
	}
	entries := make([]*entry, 0, len(ids))
	slices.Sort(ids)
	for _, id := range ids {
		entries = append(entries, a.byID[id])
	}
	a.mu.RUnlock()

	var pw, ac bytes.Buffer
	ac.WriteString("# Written by the Shouwang hub from its registry and topic policy, and\n")
	ac.WriteString("# replaced on every registry change: do not edit.\n\n")
	if a.serviceHash != "" {
		fmt.Fprintf(&pw, "%s:%s\n", a.cfg.ServiceUser, a.serviceHash)
	}
	writeRules(&ac, a.cfg.ServiceUser, a.cfg.Policy.Rules(a.service()))
	fmt.Fprintf(&ac, "topic read %s\n\n", sysBacklog)
	for _, e := range entries {
		if !mosquittoSafe(e.Principal.ID) || !strings.HasPrefix(e.Hash, "$7$") {
			a.log.Warn("account left out of the mosquitto files: its name or hash cannot be written there", "device", clip(e.Principal.ID))
			continue
		}
		fmt.Fprintf(&pw, "%s:%s\n", e.Principal.ID, e.Hash)
		writeRules(&ac, e.Principal.ID, a.cfg.Policy.Rules(e.Principal))
		ac.WriteByte('\n')
	}
	return pw.Bytes(), ac.Bytes()
}

func writeRules(b *bytes.Buffer, user string, rules []devices.TopicRule) {
	fmt.Fprintf(b, "user %s\n", user)
	for _, r := range rules {
		access := map[devices.Access]string{devices.AccessRead: "read", devices.AccessWrite: "write", devices.AccessBoth: "readwrite"}[r.Access]
		if access == "" || !mosquittoSafe(r.Filter) {
			continue
		}
		fmt.Fprintf(b, "topic %s %s\n", access, r.Filter)
	}
}

// mosquittoSafe reports whether s can stand in a mosquitto file's line: no
// spaces, colons in user names aside, nothing that ends or splits a line.
func mosquittoSafe(s string) bool {
	return s != "" && !strings.ContainsAny(s, " \t\r\n\x00")
}

// MosquittoConfig configures the files the hub keeps for an external
// mosquitto.
type MosquittoConfig struct {
	// Dir holds PasswordFile and ACLFile.
	Dir string
	// PIDFile, if set, is mosquitto's PID file: the hub sends it SIGHUP
	// after each write, which makes mosquitto read both files again. Without
	// it, something else must (a systemd path unit: docs/operations.md).
	PIDFile string
}

// Mosquitto keeps mosquitto's password and ACL files equal to the
// accounts: written at once by Sync, then again after every change by Run.
type Mosquitto struct {
	a   *Accounts
	cfg MosquittoConfig

	last [2][]byte // what was last written
}

// NewMosquitto checks cfg and returns the writer of a's files.
func (a *Accounts) NewMosquitto(cfg MosquittoConfig) (*Mosquitto, error) {
	if cfg.Dir == "" {
		return nil, errors.New("brokeracct: mosquitto Dir is required")
	}
	if err := os.MkdirAll(cfg.Dir, 0o750); err != nil {
		return nil, fmt.Errorf("brokeracct: mosquitto Dir: %w", err)
	}
	return &Mosquitto{a: a, cfg: cfg}, nil
}

// Sync writes the files if the accounts changed since the last write, each
// replaced atomically (mosquitto never reads half of one), then signals
// mosquitto to reload them.
func (m *Mosquitto) Sync() error {
	passwd, acl := m.a.MosquittoFiles()
	if bytes.Equal(passwd, m.last[0]) && bytes.Equal(acl, m.last[1]) {
		return nil
	}
	// The ACL first: a device is never admitted by the new passwords under
	// the old rules, only briefly kept to the new rules by the old ones.
	// Mode 0640: readable by mosquitto through the directory's group.
	if err := atomicfile.Write(filepath.Join(m.cfg.Dir, ACLFile), acl, 0o640); err != nil {
		return fmt.Errorf("brokeracct: %w", err)
	}
	if err := atomicfile.Write(filepath.Join(m.cfg.Dir, PasswordFile), passwd, 0o640); err != nil {
		return fmt.Errorf("brokeracct: %w", err)
	}
	m.last = [2][]byte{passwd, acl}
	if err := m.reload(); err != nil {
		return err
	}
	m.a.log.Info("mosquitto password and ACL files written", "dir", m.cfg.Dir, "accounts", bytes.Count(passwd, []byte("\n")))
	return nil
}

// reload sends mosquitto SIGHUP, which makes it read its password and ACL
// files again without dropping a connection.
func (m *Mosquitto) reload() error {
	if m.cfg.PIDFile == "" {
		return nil
	}
	b, err := os.ReadFile(m.cfg.PIDFile)
	if err != nil {
		return fmt.Errorf("brokeracct: mosquitto PID file: %w", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 1 {
		return fmt.Errorf("brokeracct: mosquitto PID file %s: %q is not a process ID", m.cfg.PIDFile, strings.TrimSpace(string(b)))
	}
	p, err := os.FindProcess(pid)
	if err == nil {
		err = p.Signal(syscall.SIGHUP)
	}
	if err != nil {
		return fmt.Errorf("brokeracct: signal mosquitto (pid %d) to reload: %w", pid, err)
	}
	return nil
}

// Debounce and retry of Run: changes within debounce are written once; a
// failed write is tried again after retryEvery.
const (
	debounce   = 100 * time.Millisecond
	retryEvery = 10 * time.Second
)

// Run writes the files after each change of the accounts until ctx is
// done, retrying a failed write.
func (m *Mosquitto) Run(ctx context.Context) {
	retry := time.NewTimer(retryEvery)
	retry.Stop()
	defer retry.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-m.a.notify:
		case <-retry.C:
		}
		// A bulk import changes many devices at once: write once.
		select {
		case <-ctx.Done():
			return
		case <-time.After(debounce):
		}
		if err := m.Sync(); err != nil {
			m.a.log.Error("write the mosquitto files; retrying", "err", err, "in", retryEvery)
			retry.Reset(retryEvery)
		}
	}
}
