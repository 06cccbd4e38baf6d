// Package testenv starts the real parts integration tests run against —
// mosquitto and InfluxDB 1.8.10 — on free loopback ports with temporary data
// directories, and stops them when the test ends.
//
// A test that needs a program which is not installed fails with a message
// saying how to install it (scripts/setup); outside CI (CI unset) it skips
// instead, so a quick `go test ./devices` on a bare machine still runs.
package testenv

// API (implemented in this package; signatures are the contract other
// packages' tests rely on):
//
//	func Mosquitto(t testing.TB, opts MosquittoOptions) *MosquittoServer
//	  MosquittoOptions{PasswordFile string; ACLFile string; AllowAnonymous bool}
//	  (*MosquittoServer).URL() string            // "tcp://127.0.0.1:PORT"
//	  (*MosquittoServer).Stop(), Start()         // stop and restart on the same port and data dir
//
//	func Influx(t testing.TB) *InfluxServer      // InfluxDB 1.8.10 with flux-enabled, database "shouwang" created
//	  (*InfluxServer).URL() string               // "http://127.0.0.1:PORT"
//	  (*InfluxServer).Bucket() string            // "shouwang/autogen"
//	  (*InfluxServer).Stop(), Start()            // outage tests: stop, then start again on the same port and data
//	  (*InfluxServer).Count(t, query string) int // runs an InfluxQL count query, returns the number
//	  (*InfluxServer).Query(t, influxql string) [][]any // rows of the first series, for assertions
//
//	func FreePort(t testing.TB) int
//	func ToolPath(t testing.TB, name string) string // finds influxd in <repo>/.tools/bin or PATH, mosquitto in PATH or /usr/sbin
