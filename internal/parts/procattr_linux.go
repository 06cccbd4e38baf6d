package parts

import "syscall"

// sysProcAttr makes the kernel kill a child when this process dies, so a
// crashed or killed test or benchmark leaves no broker or database behind.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
