package testenv_test

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/shouwang-hub/shouwang/internal/testenv"
)

func TestInfluxWriteCountRestart(t *testing.T) {
	start := time.Now()
	s := testenv.Influx(t)
	t.Logf("influxd ready with database created in %s", time.Since(start))

	if !strings.HasPrefix(s.URL(), "http://127.0.0.1:") {
		t.Fatalf("URL() = %q", s.URL())
	}
	if s.Bucket() != "shouwang/autogen" {
		t.Fatalf("Bucket() = %q", s.Bucket())
	}
	if n := s.Count(t, `SELECT count("lel") FROM "gas"`); n != 0 {
		t.Fatalf("count before writing = %d, want 0", n)
	}
	s.Write(t, "gas,device=d1 lel=12.5 1700000000000000000\ngas,device=d1 lel=40 1700000001000000000\ngas,device=d2 lel=3 1700000002000000000\n")
	if n := s.Count(t, `SELECT count("lel") FROM "gas"`); n != 3 {
		t.Fatalf("count = %d, want 3", n)
	}
	if n := s.Count(t, `SELECT count("lel") FROM "gas" GROUP BY "device"`); n != 3 {
		t.Fatalf("count grouped by device = %d, want 3 summed", n)
	}
	rows := s.Query(t, `SELECT "lel" FROM "gas" WHERE "device" = 'd1'`)
	want := [][]any{{1700000000000.0, 12.5}, {1700000001000.0, 40.0}}
	if len(rows) != len(want) || rows[0][0] != want[0][0] || rows[0][1] != want[0][1] || rows[1][0] != want[1][0] || rows[1][1] != want[1][1] {
		t.Fatalf("rows = %v, want %v", rows, want)
	}

	url := s.URL()
	start = time.Now()
	s.Stop()
	if _, err := http.Get(url + "/ping"); err == nil {
		t.Fatal("influxd still answers after Stop")
	}
	s.Start()
	t.Logf("influxd stopped and restarted in %s", time.Since(start))
	if s.URL() != url {
		t.Fatalf("URL after restart = %q, want %q", s.URL(), url)
	}
	if n := s.Count(t, `SELECT count("lel") FROM "gas"`); n != 3 {
		t.Fatalf("count after restart = %d, want 3", n)
	}
}

// TestInfluxFlux checks that the v2 compatibility query API with Flux, which
// the hub's client uses, is enabled.
func TestInfluxFlux(t *testing.T) {
	s := testenv.Influx(t)
	s.Write(t, "gas,device=d1 lel=12.5\n")
	req, err := http.NewRequest("POST", s.URL()+"/api/v2/query",
		strings.NewReader(`from(bucket: "`+s.Bucket()+`") |> range(start: -1h) |> filter(fn: (r) => r._measurement == "gas")`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/vnd.flux")
	req.Header.Set("Accept", "application/csv")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "12.5") {
		t.Fatalf("Flux query: %s\n%s", resp.Status, body)
	}
}
