//go:build !linux

package testenv

import "syscall"

// sysProcAttr has no parent-death signal to set outside Linux; children are
// stopped by the tests' cleanups only.
func sysProcAttr() *syscall.SysProcAttr { return nil }
