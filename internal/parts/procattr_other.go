//go:build !linux

package parts

import "syscall"

// sysProcAttr has no parent-death signal to set outside Linux; children are
// stopped by their owners' Stop calls only.
func sysProcAttr() *syscall.SysProcAttr { return nil }
