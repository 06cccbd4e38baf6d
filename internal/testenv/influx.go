package testenv

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/shouwang-hub/shouwang/internal/parts"
)

// InfluxDatabase is the database Influx creates; Bucket names it with its
// default retention policy, as the v2 compatibility API wants.
const InfluxDatabase = "shouwang"

// InfluxServer is an InfluxDB 1.8.10 server on a loopback port with a
// temporary data directory and Flux enabled.
type InfluxServer struct {
	t      testing.TB
	srv    *parts.Influxd
	client *http.Client
}

// Influx starts influxd on free 127.0.0.1 ports with a temporary data
// directory, waits until /ping answers, creates the database "shouwang", and
// stops the server when the test ends.
func Influx(t testing.TB) *InfluxServer {
	t.Helper()
	path := ToolPath(t, "influxd")
	srv := parts.NewInfluxd(path, parts.InfluxConfig{WrittenBy: "internal/testenv for one test", Dir: t.TempDir()})
	s := &InfluxServer{t: t, srv: srv, client: &http.Client{Timeout: 30 * time.Second}}
	startForTest(t, srv.Proc, srv.Start)
	if _, err := s.query("CREATE DATABASE " + InfluxDatabase); err != nil {
		t.Fatalf("testenv: influxd: %v", err)
	}
	return s
}

// URL returns the HTTP API's base URL, "http://127.0.0.1:PORT".
func (s *InfluxServer) URL() string { return s.srv.URL() }

// Bucket returns "shouwang/autogen", the v2 API's name for the database.
func (s *InfluxServer) Bucket() string { return InfluxDatabase + "/autogen" }

// Stop stops the server with SIGTERM and waits for it to exit; the data stays.
func (s *InfluxServer) Stop() {
	s.t.Helper()
	stop(s.t, s.srv.Proc)
}

// Kill ends the server with SIGKILL, as a crash would.
func (s *InfluxServer) Kill() { s.srv.Proc.Kill() }

// Start starts the server again on the same port with the same data and
// waits until /ping answers.
func (s *InfluxServer) Start() {
	s.t.Helper()
	restart(s.t, s.srv.Start)
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
	for _, series := range res {
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
	if len(res) == 0 {
		return nil
	}
	return res[0].Values
}

// query runs one InfluxQL statement against the database through /query.
func (s *InfluxServer) query(influxql string) ([]parts.Series, error) {
	return parts.InfluxQuery(context.Background(), s.client, s.URL(), InfluxDatabase, influxql)
}
