package testenv

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// InfluxDatabase is the database Influx creates; Bucket names it with its
// default retention policy, as the v2 compatibility API wants.
const InfluxDatabase = "shouwang"

// InfluxServer is an InfluxDB 1.8.10 server on a loopback port with a
// temporary data directory and Flux enabled.
type InfluxServer struct {
	t        testing.TB
	httpPort int
	rpcPort  int
	dir      string
	proc     *process
	client   *http.Client
}

// Influx starts influxd on free 127.0.0.1 ports with a temporary data
// directory, waits until /ping answers, creates the database "shouwang", and
// stops the server when the test ends.
func Influx(t testing.TB) *InfluxServer {
	t.Helper()
	path := ToolPath(t, "influxd")
	dir := t.TempDir()
	s := &InfluxServer{t: t, dir: dir, client: &http.Client{Timeout: 30 * time.Second}}
	s.proc = &process{
		name:    "influxd",
		path:    path,
		args:    []string{"run", "-config", filepath.Join(dir, "influxdb.conf")},
		logPath: filepath.Join(dir, "influxd.log"),
	}
	s.proc.dumpLogOnFailure(t)
	t.Cleanup(func() { s.proc.stop() })

	// FreePort's ports can be taken before influxd binds them; try new ones.
	var err error
	for attempt := 0; attempt < 3; attempt++ {
		if s.httpPort, err = freePort(); err != nil {
			t.Fatalf("testenv: influxd: free port: %v", err)
		}
		if s.rpcPort, err = freePort(); err != nil {
			t.Fatalf("testenv: influxd: free port: %v", err)
		}
		if err = s.writeConfig(); err != nil {
			t.Fatalf("testenv: %v", err)
		}
		err = s.proc.start(s.pinging)
		if err == nil || !errors.Is(err, errExited) || !strings.Contains(err.Error(), "in use") {
			break
		}
	}
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	if _, err := s.query("CREATE DATABASE " + InfluxDatabase); err != nil {
		t.Fatalf("testenv: influxd: %v", err)
	}
	return s
}

// URL returns the HTTP API's base URL, "http://127.0.0.1:PORT".
func (s *InfluxServer) URL() string { return "http://127.0.0.1:" + strconv.Itoa(s.httpPort) }

// Bucket returns "shouwang/autogen", the v2 API's name for the database.
func (s *InfluxServer) Bucket() string { return InfluxDatabase + "/autogen" }

// Stop stops the server with SIGTERM and waits for it to exit; the data stays.
func (s *InfluxServer) Stop() {
	s.t.Helper()
	if s.proc.stop() {
		s.t.Errorf("testenv: influxd did not stop within %s of SIGTERM; killed it", stopTimeout)
	}
}

// Kill ends the server with SIGKILL, as a crash would.
func (s *InfluxServer) Kill() { s.proc.kill() }

// Start starts the server again on the same port with the same data and
// waits until /ping answers.
func (s *InfluxServer) Start() {
	s.t.Helper()
	if err := s.proc.start(s.pinging); err != nil {
		s.t.Fatalf("testenv: restart: %v", err)
	}
}

// Write writes line protocol into the database, with nanosecond timestamps
// where lines carry them.
func (s *InfluxServer) Write(t testing.TB, lines string) {
	t.Helper()
	u := s.URL() + "/write?" + url.Values{"db": {InfluxDatabase}}.Encode()
	resp, err := s.client.Post(u, "text/plain; charset=utf-8", strings.NewReader(lines))
	if err != nil {
		t.Fatalf("testenv: influx write: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		body, _ := io.ReadAll(resp.Body)
		t.Fatalf("testenv: influx write: %s: %s", resp.Status, body)
	}
}

// Count runs an InfluxQL query such as `SELECT count("v") FROM "m"` and
// returns the first value column summed over all rows of all series, so a
// GROUP BY still counts everything. A query that matches nothing gives 0.
func (s *InfluxServer) Count(t testing.TB, influxql string) int {
	t.Helper()
	res, err := s.query(influxql)
	if err != nil {
		t.Fatalf("testenv: influx count: %v", err)
	}
	n := 0
	for _, series := range res.Series {
		if len(series.Columns) < 2 {
			t.Fatalf("testenv: influx count %q: series %q has columns %v, want time and a count", influxql, series.Name, series.Columns)
		}
		for _, row := range series.Values {
			switch v := row[1].(type) {
			case nil: // an empty GROUP BY time interval
			case float64:
				n += int(v)
			default:
				t.Fatalf("testenv: influx count %q: value %v (%T) is not a number", influxql, v, v)
			}
		}
	}
	return n
}

// Query runs an InfluxQL query and returns the rows of its first series (nil
// when nothing matched). Times are Unix milliseconds; numbers are float64.
func (s *InfluxServer) Query(t testing.TB, influxql string) [][]any {
	t.Helper()
	res, err := s.query(influxql)
	if err != nil {
		t.Fatalf("testenv: influx query: %v", err)
	}
	if len(res.Series) == 0 {
		return nil
	}
	return res.Series[0].Values
}

type influxResult struct {
	Series []struct {
		Name    string   `json:"name"`
		Columns []string `json:"columns"`
		Values  [][]any  `json:"values"`
	} `json:"series"`
	Error string `json:"error"`
}

// query runs one InfluxQL statement against the database through /query.
func (s *InfluxServer) query(influxql string) (influxResult, error) {
	form := url.Values{"q": {influxql}, "db": {InfluxDatabase}, "epoch": {"ms"}}
	resp, err := s.client.PostForm(s.URL()+"/query", form)
	if err != nil {
		return influxResult{}, fmt.Errorf("query %q: %w", influxql, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return influxResult{}, fmt.Errorf("query %q: %w", influxql, err)
	}
	var out struct {
		Results []influxResult `json:"results"`
		Error   string         `json:"error"`
	}
	if err := json.Unmarshal(body, &out); err != nil {
		return influxResult{}, fmt.Errorf("query %q: %s: %s", influxql, resp.Status, body)
	}
	switch {
	case out.Error != "":
		return influxResult{}, fmt.Errorf("query %q: %s", influxql, out.Error)
	case len(out.Results) != 1:
		return influxResult{}, fmt.Errorf("query %q: %d results, want one statement", influxql, len(out.Results))
	case out.Results[0].Error != "":
		return influxResult{}, fmt.Errorf("query %q: %s", influxql, out.Results[0].Error)
	}
	return out.Results[0], nil
}

func (s *InfluxServer) pinging() bool {
	c := http.Client{Timeout: time.Second}
	resp, err := c.Get(s.URL() + "/ping")
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusNoContent
}

func (s *InfluxServer) writeConfig() error {
	conf := fmt.Sprintf(`# written by internal/testenv for one test
reporting-disabled = true
bind-address = "127.0.0.1:%d"

[meta]
  dir = %q
  logging-enabled = false

[data]
  dir = %q
  wal-dir = %q
  wal-fsync-delay = "0s"
  query-log-enabled = false

[monitor]
  store-enabled = false

[subscriber]
  enabled = false

[http]
  bind-address = "127.0.0.1:%d"
  flux-enabled = true
  log-enabled = false
  pprof-enabled = false

[continuous_queries]
  log-enabled = false

[logging]
  level = "warn"
  suppress-logo = true
`, s.rpcPort, filepath.Join(s.dir, "meta"), filepath.Join(s.dir, "data"), filepath.Join(s.dir, "wal"), s.httpPort)
	if err := os.WriteFile(filepath.Join(s.dir, "influxdb.conf"), []byte(conf), 0o644); err != nil {
		return fmt.Errorf("influxd: write config: %w", err)
	}
	return nil
}
