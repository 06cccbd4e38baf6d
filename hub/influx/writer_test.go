package influx

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	influxhttp "github.com/influxdata/influxdb-client-go/v2/api/http"
)

// fakeInflux is an HTTP server speaking just enough of the v2 write API.
// respond decides each request's status from its lines; accepted lines are
// kept in arrival order.
type fakeInflux struct {
	*httptest.Server
	mu       sync.Mutex
	respond  func(lines []string) (status int, msg string)
	accepted []string
	requests int
}

func newFakeInflux(t *testing.T, respond func(lines []string) (int, string)) *fakeInflux {
	f := &fakeInflux{respond: respond}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/ping" {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		if r.URL.Path != "/api/v2/write" {
			http.NotFound(w, r)
			return
		}
		body, _ := io.ReadAll(r.Body)
		lines := strings.Split(strings.TrimSuffix(string(body), "\n"), "\n")
		f.mu.Lock()
		f.requests++
		status, msg := f.respond(lines)
		if status == http.StatusNoContent {
			f.accepted = append(f.accepted, lines...)
		}
		f.mu.Unlock()
		if msg != "" { // as InfluxDB 1.8 reports errors
			w.Header().Set("X-Influxdb-Error", msg)
			w.Header().Set("Content-Type", "application/json")
		}
		w.WriteHeader(status)
		if msg != "" {
			fmt.Fprintf(w, `{"error":%q}`, msg)
		}
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeInflux) setRespond(r func([]string) (int, string)) {
	f.mu.Lock()
	f.respond = r
	f.mu.Unlock()
}

func (f *fakeInflux) got() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.accepted...)
}

func ok([]string) (int, string) { return http.StatusNoContent, "" }

// logRecorder is a slog.Handler that keeps records.
type logRecorder struct {
	mu      sync.Mutex
	records []slog.Record
}

func (h *logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (h *logRecorder) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	h.records = append(h.records, r)
	h.mu.Unlock()
	return nil
}
func (h *logRecorder) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *logRecorder) WithGroup(string) slog.Handler      { return h }
func (h *logRecorder) count(level slog.Level) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, r := range h.records {
		if r.Level == level {
			n++
		}
	}
	return n
}

func newTestWriter(t *testing.T, cfg Config, spool Spool, logger *slog.Logger) *Writer {
	t.Helper()
	if cfg.Bucket == "" {
		cfg.Bucket = "shouwang/autogen"
	}
	if cfg.MaxBackoff == 0 {
		cfg.MaxBackoff = 20 * time.Millisecond
	}
	w, err := NewWriter(cfg, spool, logger)
	if err != nil {
		t.Fatalf("NewWriter: %v", err)
	}
	w.minBackoff = time.Millisecond
	t.Cleanup(func() { w.Close() })
	return w
}

func TestNewWriterValidates(t *testing.T) {
	good := Config{URL: "http://127.0.0.1:8086", Bucket: "db/rp"}
	tests := []struct {
		name   string
		modify func(*Config)
		want   string
	}{
		{"no url", func(c *Config) { c.URL = "" }, "url"},
		{"no scheme", func(c *Config) { c.URL = "127.0.0.1:8086" }, "url"},
		{"tcp scheme", func(c *Config) { c.URL = "tcp://127.0.0.1:8086" }, "url"},
		{"no bucket", func(c *Config) { c.Bucket = "" }, "bucket"},
		{"negative batch", func(c *Config) { c.BatchSize = -1 }, "batch size"},
		{"negative backoff", func(c *Config) { c.MaxBackoff = -time.Second }, "max backoff"},
		{"negative timeout", func(c *Config) { c.Timeout = -time.Second }, "timeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := good
			tt.modify(&cfg)
			_, err := NewWriter(cfg, newMemSpool(), nil)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("NewWriter: err %v, want one naming %q", err, tt.want)
			}
		})
	}
	if _, err := NewWriter(good, nil, nil); err == nil || !strings.Contains(err.Error(), "spool") {
		t.Fatalf("NewWriter without spool: err %v", err)
	}
	w, err := NewWriter(good, newMemSpool(), nil)
	if err != nil {
		t.Fatalf("NewWriter: %v", err)
	}
	if w.cfg.BatchSize != DefaultBatchSize || w.cfg.MaxBackoff != DefaultMaxBackoff || w.cfg.Timeout != DefaultTimeout {
		t.Fatalf("defaults not applied: %+v", w.cfg)
	}
	if w.Close() != nil || w.Close() != nil {
		t.Fatal("Close is not idempotent")
	}
}

func TestClassify(t *testing.T) {
	status := func(code int) error {
		return fmt.Errorf("write: %w", &influxhttp.Error{StatusCode: code})
	}
	tests := []struct {
		err  error
		want class
	}{
		{status(0), classRetry},
		{fmt.Errorf("write: %w", influxhttp.NewError(context.DeadlineExceeded)), classRetry},
		{status(500), classRetry},
		{status(503), classRetry},
		{status(429), classRetry},
		{status(408), classRetry},
		{status(401), classConfig},
		{status(403), classConfig},
		{status(404), classConfig},
		{status(400), classRejected},
		{status(413), classRejected},
		{status(422), classRejected},
		{errors.New("disk full"), classLocal},
	}
	for _, tt := range tests {
		if got := classify(tt.err); got != tt.want {
			t.Errorf("classify(%v) = %d, want %d", tt.err, got, tt.want)
		}
	}
}

// TestWriterBisectsRejectedLines sends batches in which some lines are
// refused for good: those go to the dead-letter file, all others through.
func TestWriterBisectsRejectedLines(t *testing.T) {
	f := newFakeInflux(t, func(lines []string) (int, string) {
		for _, l := range lines {
			if strings.Contains(l, "bad") {
				return http.StatusBadRequest, `partial write: field type conflict: input field "v" on measurement "m" is type string, already exists as type float dropped=1`
			}
		}
		return http.StatusNoContent, ""
	})
	spool := newMemSpool()
	dead := filepath.Join(t.TempDir(), "sub", "influx-rejected.lp")
	w := newTestWriter(t, Config{URL: f.URL, BatchSize: 100, DeadLetterPath: dead}, spool, nil)

	lines := numberedLines(1, 250)
	lines[17] = []byte(`m,device=d v="bad17" 17000000`)
	lines[18] = []byte(`m,device=d v="bad18" 18000000`)
	lines[199] = []byte(`m,device=d v="bad199" 199000000`)
	spool.Append(lines...)
	if err := w.Flush(context.Background()); err != nil {
		t.Fatalf("Flush: %v", err)
	}

	var want []string
	for i, l := range lines {
		if i != 17 && i != 18 && i != 199 {
			want = append(want, string(l))
		}
	}
	if got := f.got(); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("InfluxDB got %d lines, want the %d good ones in order", len(got), len(want))
	}
	st := w.Stats()
	if st.DeadLettered != 3 || st.Written != 247 || st.Batches != 3 || st.Depth != 0 || !st.Reachable || st.Failures != 0 {
		t.Fatalf("stats %+v", st)
	}
	data, err := os.ReadFile(dead)
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	for _, i := range []int{17, 18, 199} {
		if !strings.Contains(text, "\n"+string(lines[i])+"\n") {
			t.Errorf("dead-letter file lacks line %d:\n%s", i, text)
		}
	}
	if strings.Count(text, "# rejected ") != 3 || !strings.Contains(text, "field type conflict") {
		t.Errorf("dead-letter file should give a reason per line:\n%s", text)
	}
	spool.checkInOrder(t)
}

// TestWriterKeepsLinesWhileFailing makes InfluxDB fail with each retryable
// status in turn: nothing leaves the spool until it recovers, then all of it
// arrives once, in order.
func TestWriterKeepsLinesWhileFailing(t *testing.T) {
	for _, status := range []int{http.StatusServiceUnavailable, http.StatusInternalServerError, http.StatusTooManyRequests, http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			var mu sync.Mutex
			failing := true
			f := newFakeInflux(t, func([]string) (int, string) {
				mu.Lock()
				defer mu.Unlock()
				if failing {
					return status, "nope"
				}
				return http.StatusNoContent, ""
			})
			spool := newMemSpool()
			logs := &logRecorder{}
			w := newTestWriter(t, Config{URL: f.URL, BatchSize: 10}, spool, slog.New(logs))
			w.logEvery = time.Hour
			runWriter(t, w)
			spool.Append(numberedLines(1, 35)...)

			eventually(t, 10*time.Second, "ten failures", func() bool { return w.Stats().Failures >= 10 })
			if n, _ := spool.removals(); n != 0 {
				t.Fatalf("%d lines removed while InfluxDB answered %d", n, status)
			}
			st := w.Stats()
			if st.Reachable || st.Depth != 35 || st.Written != 0 || !strings.Contains(st.LastError, fmt.Sprint(status)) {
				t.Fatalf("stats while failing: %+v", st)
			}
			wantLevel := slog.LevelWarn
			if status == 401 || status == 403 || status == 404 {
				wantLevel = slog.LevelError
			}
			if n := logs.count(wantLevel); n != 1 {
				t.Fatalf("%d %v log lines for %d failures, want 1 (bounded)", n, wantLevel, st.Failures)
			}

			mu.Lock()
			failing = false
			mu.Unlock()
			eventually(t, 10*time.Second, "spool drained", func() bool { return spool.Depth() == 0 })
			want := numberedLines(1, 35)
			got := f.got()
			if len(got) != len(want) {
				t.Fatalf("InfluxDB got %d lines, want %d", len(got), len(want))
			}
			for i := range want {
				if got[i] != string(want[i]) {
					t.Fatalf("line %d: got %s, want %s", i, got[i], want[i])
				}
			}
			spool.checkInOrder(t)
			st = w.Stats()
			if !st.Reachable || st.Written != 35 || st.Batches != 4 || st.LastSuccess.IsZero() {
				t.Fatalf("stats after recovery: %+v", st)
			}
			eventually(t, 5*time.Second, "recovery logged", func() bool { return logs.count(slog.LevelInfo) == 1 })
		})
	}
}

// TestWriterBackoffGrowsAndIsInterruptible checks that the retry delay
// doubles up to MaxBackoff and that cancelling Run ends even a long wait,
// leaving the batch in the spool.
func TestWriterBackoffGrowsAndIsInterruptible(t *testing.T) {
	f := newFakeInflux(t, func([]string) (int, string) { return http.StatusBadGateway, "" })
	spool := newMemSpool()
	w := newTestWriter(t, Config{URL: f.URL, MaxBackoff: time.Hour}, spool, nil)
	w.minBackoff = 100 * time.Millisecond

	// The delays wait would use, without running the loop.
	var delays []time.Duration
	for range 8 {
		d := max(w.backoff, min(w.minBackoff, w.cfg.MaxBackoff))
		delays = append(delays, d)
		w.backoff = min(2*d, w.cfg.MaxBackoff)
	}
	want := []time.Duration{100, 200, 400, 800, 1600, 3200, 6400, 12800}
	for i := range want {
		if delays[i] != want[i]*time.Millisecond {
			t.Fatalf("delays %v, want 100ms doubling", delays)
		}
	}
	w.backoff = 0

	// A batch that fails, then a wait of an hour that cancel must end.
	w.backoff = time.Hour
	spool.Append(numberedLines(1, 5)...)
	stop := runWriter(t, w)
	eventually(t, 10*time.Second, "a failure", func() bool { return w.Stats().Failures >= 1 })
	stop() // fails the test if Run does not return promptly
	if spool.Depth() != 5 {
		t.Fatalf("depth %d after abandoning the batch, want 5", spool.Depth())
	}

	// The abandoned batch is delivered by a later Flush.
	f.setRespond(ok)
	w.backoff = 0
	if err := w.Flush(context.Background()); err != nil {
		t.Fatalf("Flush: %v", err)
	}
	if spool.Depth() != 0 || len(f.got()) != 5 {
		t.Fatalf("after Flush: depth %d, InfluxDB has %d lines", spool.Depth(), len(f.got()))
	}
}

func TestWriterRetryAfter(t *testing.T) {
	err := fmt.Errorf("x: %w", &influxhttp.Error{StatusCode: 429, RetryAfter: 3})
	w := &Writer{cfg: Config{MaxBackoff: 2 * time.Second}, minBackoff: 100 * time.Millisecond}
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // only the computed back-off matters here
	w.wait(ctx, err)
	if w.backoff != 2*time.Second {
		t.Fatalf("backoff after Retry-After 3s with MaxBackoff 2s = %v, want 2s", w.backoff)
	}
}

func TestFlushReturnsWhenContextEnds(t *testing.T) {
	f := newFakeInflux(t, func([]string) (int, string) { return http.StatusServiceUnavailable, "" })
	spool := newMemSpool()
	w := newTestWriter(t, Config{URL: f.URL}, spool, nil)
	spool.Append(numberedLines(1, 3)...)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if err := w.Flush(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Flush against a failing server: %v, want deadline exceeded", err)
	}
	if spool.Depth() != 3 {
		t.Fatalf("depth %d, want 3", spool.Depth())
	}
}

func TestWriterRunWaitsForAppends(t *testing.T) {
	f := newFakeInflux(t, ok)
	spool := newMemSpool()
	w := newTestWriter(t, Config{URL: f.URL}, spool, nil)
	runWriter(t, w)
	for i := range 5 {
		spool.Append(numberedLines(i*10+1, 10)...)
		eventually(t, 10*time.Second, "append written", func() bool { return len(f.got()) == (i+1)*10 })
	}
	spool.checkInOrder(t)
}

// After a partial batch the writer waits for a full one (or Linger), so a
// moderate flow leaves in few requests.
func TestWriterLingersAfterAPartialBatch(t *testing.T) {
	f := newFakeInflux(t, ok)
	spool := newMemSpool()
	w := newTestWriter(t, Config{URL: f.URL, BatchSize: 5, Linger: time.Hour}, spool, nil)
	runWriter(t, w)
	spool.Append(numberedLines(1, 3)...)
	eventually(t, 10*time.Second, "the first, partial batch written", func() bool { return len(f.got()) == 3 })
	spool.Append(numberedLines(4, 2)...) // under a batch: held while lingering
	spool.Append(numberedLines(6, 3)...) // now 5 wait: a full batch goes at once
	eventually(t, 10*time.Second, "the full batch written", func() bool { return len(f.got()) == 8 })
	if n := w.Stats().Batches; n != 2 {
		t.Errorf("%d batches, want 2: the lines appended while lingering go together", n)
	}
	spool.checkInOrder(t)
}

func TestWriterRetriesSpoolErrors(t *testing.T) {
	f := newFakeInflux(t, ok)
	spool := newMemSpool()
	logs := &logRecorder{}
	w := newTestWriter(t, Config{URL: f.URL}, spool, slog.New(logs))
	spool.Append(numberedLines(1, 3)...)
	spool.setPeekErr(errors.New("database is locked"))
	runWriter(t, w)
	eventually(t, 10*time.Second, "spool failures", func() bool { return w.Stats().Failures >= 3 })
	if logs.count(slog.LevelError) == 0 {
		t.Fatal("spool failure not logged")
	}
	spool.setPeekErr(nil)
	eventually(t, 10*time.Second, "drained", func() bool { return spool.Depth() == 0 })
}

// TestWriterDeadLetterFileFailure: when the rejected line cannot be set
// aside, it stays in the spool.
func TestWriterDeadLetterFileFailure(t *testing.T) {
	f := newFakeInflux(t, func([]string) (int, string) { return http.StatusBadRequest, "unable to parse" })
	spool := newMemSpool()
	notDir := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(notDir, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	w := newTestWriter(t, Config{URL: f.URL, DeadLetterPath: filepath.Join(notDir, "rejected.lp")}, spool, nil)
	spool.Append([]byte("garbage"))
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if err := w.Flush(ctx); err == nil {
		t.Fatal("Flush succeeded though the dead-letter file cannot be written")
	}
	if spool.Depth() != 1 || w.Stats().DeadLettered != 0 {
		t.Fatalf("depth %d, dead-lettered %d: want the line kept", spool.Depth(), w.Stats().DeadLettered)
	}
}

func TestPing(t *testing.T) {
	f := newFakeInflux(t, ok)
	w := newTestWriter(t, Config{URL: f.URL}, newMemSpool(), nil)
	if err := w.Ping(context.Background()); err != nil || !w.Stats().Reachable {
		t.Fatalf("Ping: %v, reachable %v", err, w.Stats().Reachable)
	}
	f.Close()
	if err := w.Ping(context.Background()); err == nil || w.Stats().Reachable {
		t.Fatalf("Ping of a closed server: %v, reachable %v", err, w.Stats().Reachable)
	}
}

func TestPostJoinsLines(t *testing.T) {
	var body bytes.Buffer
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(&body, r.Body)
		if r.URL.Query().Get("bucket") != "db/rp" || r.URL.Query().Get("precision") != "ns" || r.Header.Get("Authorization") != "Token u:p" {
			t.Errorf("request %s with auth %q", r.URL, r.Header.Get("Authorization"))
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	spool := newMemSpool()
	w := newTestWriter(t, Config{URL: srv.URL, Bucket: "db/rp", Token: "u:p"}, spool, nil)
	spool.Append([]byte("a v=1 1"), []byte("b v=2 2"))
	if err := w.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if body.String() != "a v=1 1\nb v=2 2\n" {
		t.Fatalf("body %q", body.String())
	}
}

// TestRunPingsWhileIdle: with nothing to write, Run still notices InfluxDB
// going away.
func TestRunPingsWhileIdle(t *testing.T) {
	f := newFakeInflux(t, ok)
	w := newTestWriter(t, Config{URL: f.URL}, newMemSpool(), nil)
	w.pingEvery = 10 * time.Millisecond
	runWriter(t, w)
	eventually(t, 10*time.Second, "reachable", func() bool { return w.Stats().Reachable })
	f.Close()
	eventually(t, 10*time.Second, "unreachable", func() bool { return !w.Stats().Reachable })
}
