//go:build !linux

package parts

import "os/exec"

// runAsPostgres does nothing outside Linux: the server runs as the caller.
func runAsPostgres(*exec.Cmd) {}

// chownToPostgres does nothing outside Linux.
func chownToPostgres(string) error { return nil }
