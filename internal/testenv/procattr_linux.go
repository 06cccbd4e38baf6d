package testenv

import "syscall"

// sysProcAttr makes the kernel kill a child when the test binary dies, so a
// crashed or killed test leaves no broker or database behind.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
