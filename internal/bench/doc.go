// Package bench is the machinery of the benchmark program (cmd/bench): it
// starts the real parts as subprocesses — mosquitto, InfluxDB 1.8.10 and the
// hub built from the tree — and drives and measures them: MQTT publishers
// with a bounded window of unacknowledged messages, console clients of the
// live feed, InfluxQL counts, the hub's metrics and API, and per-process CPU
// time and memory from /proc.
//
// It starts the parts through internal/parts, as internal/testenv does for
// the tests, and does not depend on package testing, so the benchmark runs
// as an ordinary program; its own small test runs it with tiny sizes.
package bench
