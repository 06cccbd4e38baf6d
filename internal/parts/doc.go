// Package parts starts the real parts Shouwang runs against — mosquitto,
// InfluxDB 1.8.10, PostgreSQL, nginx and the hub binary — as subprocesses on free loopback
// ports, each with its output in a log file: it finds the programs, writes
// their configuration, waits until they are ready, and stops or kills them.
//
// It is the one implementation under internal/testenv (which adds what a
// test wants: testing.TB, cleanups, failing under CI when a program is
// missing) and internal/bench (the benchmark program, which is not a test),
// so it does not depend on package testing.
//
// Every child gets a parent-death signal on Linux, so a crashed test binary
// or benchmark leaves no broker or database behind.
package parts
