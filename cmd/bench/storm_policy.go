package main

// The load process's scheduling policy. The street's devices publish from
// their own hardware: their readings cost the hub's machine the broker's,
// the hub's and InfluxDB's work, never the publishing. On this one-machine
// bench the load process stands in for them on the same two cores, and at
// the same priority as the street's parts it would take its turn on a core
// before a woken broker, hub or console — a delay no field machine has. So
// by default (-load-policy idle) it runs under Linux's SCHED_IDLE: it gets
// whatever CPU the street's parts leave, and a part that wakes takes the
// core from it at once. Its CPU is still measured and reported, and the
// closed loop (-backlog) still runs the storm at the hub's own rate.
// -load-policy normal runs it as before, at the parts' own priority.

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// The load process's policies (-load-policy).
const (
	loadPolicyIdle   = "idle"   // SCHED_IDLE: only CPU the others leave
	loadPolicyNormal = "normal" // SCHED_OTHER at nice 0, as the parts
)

// validLoadPolicy says whether p is a -load-policy value.
func validLoadPolicy(p string) bool { return p == loadPolicyIdle || p == loadPolicyNormal }

// setLoadPolicy puts every thread of this process under policy ("" is
// normal: nothing to do). A thread started later inherits the policy of
// the thread that starts it, so the passes end when one finds every thread
// moved already.
func setLoadPolicy(policy string) error {
	switch policy {
	case "", loadPolicyNormal:
		return nil
	case loadPolicyIdle:
	default:
		return fmt.Errorf("unknown scheduling policy %q (want %s or %s)", policy, loadPolicyIdle, loadPolicyNormal)
	}
	for range 10 {
		tids, err := threadsOf(os.Getpid())
		if err != nil {
			return err
		}
		moved := 0
		for _, tid := range tids {
			a, err := unix.SchedGetAttr(tid, 0)
			if errors.Is(err, unix.ESRCH) {
				continue // the thread is gone
			}
			if err != nil {
				return fmt.Errorf("thread %d's scheduling policy: %w", tid, err)
			}
			if a.Policy == unix.SCHED_IDLE {
				continue
			}
			if err := unix.SchedSetAttr(tid, &unix.SchedAttr{Policy: unix.SCHED_IDLE}, 0); err != nil && !errors.Is(err, unix.ESRCH) {
				return fmt.Errorf("SCHED_IDLE for thread %d: %w", tid, err)
			}
			moved++
		}
		if moved == 0 {
			return nil
		}
	}
	return errors.New("SCHED_IDLE: threads kept starting under the old policy")
}

// policyOf says under which policy every thread of process pid runs:
// "idle", "normal", or each policy found joined by "+" when they differ.
func policyOf(pid int) (string, error) {
	tids, err := threadsOf(pid)
	if err != nil {
		return "", err
	}
	var found []string
	for _, tid := range tids {
		a, err := unix.SchedGetAttr(tid, 0)
		if errors.Is(err, unix.ESRCH) {
			continue
		}
		if err != nil {
			return "", fmt.Errorf("thread %d's scheduling policy: %w", tid, err)
		}
		name := "policy " + strconv.Itoa(int(a.Policy))
		switch a.Policy {
		case unix.SCHED_IDLE:
			name = loadPolicyIdle
		case unix.SCHED_NORMAL:
			name = loadPolicyNormal
			if a.Nice != 0 {
				name = "nice " + strconv.Itoa(int(a.Nice))
			}
		}
		if !slices.Contains(found, name) {
			found = append(found, name)
		}
	}
	if len(found) == 0 {
		return "", fmt.Errorf("process %d has no threads", pid)
	}
	slices.Sort(found)
	return strings.Join(found, "+"), nil
}

// threadsOf lists the thread IDs of process pid.
func threadsOf(pid int) ([]int, error) {
	ents, err := os.ReadDir("/proc/" + strconv.Itoa(pid) + "/task")
	if err != nil {
		return nil, err
	}
	tids := make([]int, 0, len(ents))
	for _, e := range ents {
		if tid, err := strconv.Atoi(e.Name()); err == nil {
			tids = append(tids, tid)
		}
	}
	return tids, nil
}
