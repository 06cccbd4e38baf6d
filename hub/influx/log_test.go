package influx

import (
	"log/slog"
	"sync"
	"testing"

	influxlog "github.com/influxdata/influxdb-client-go/v2/log"
)

func TestSetLogger(t *testing.T) {
	logs := &logRecorder{}
	remove := SetLogger(slog.New(logs))
	defer remove()
	l := influxlog.Log
	if l.LogLevel() != influxlog.ErrorLevel {
		t.Fatalf("level %d, want errors only", l.LogLevel())
	}
	l.Debug("d")
	l.Infof("i %d", 1)
	l.Warn("w")
	l.Errorf("write failed: %s\n", "boom")
	if logs.count(slog.LevelError) != 1 || len(logs.records) != 1 {
		t.Fatalf("got %d records, want the one error", len(logs.records))
	}
	if msg := logs.records[0].Message; msg != "write failed: boom" {
		t.Fatalf("message %q", msg)
	}

	l.SetLogLevel(influxlog.DebugLevel)
	defer l.SetLogLevel(influxlog.ErrorLevel)
	l.Debugf("d %s", "x")
	l.Info("i")
	l.Warnf("w")
	if logs.count(slog.LevelDebug) != 1 || logs.count(slog.LevelInfo) != 1 || logs.count(slog.LevelWarn) != 1 {
		t.Fatalf("records after raising the level: %d", len(logs.records))
	}

	silence := SetLogger(nil)
	l.Error("dropped")
	silence()
	if n := logs.count(slog.LevelError); n != 1 {
		t.Fatalf("SetLogger(nil) should silence the library: %d errors", n)
	}
	l.Error("back")
	if n := logs.count(slog.LevelError); n != 2 {
		t.Fatalf("after the silencing route is removed: %d errors, want the first route's 2", n)
	}
}

// Several hubs in one process (as in the tests) each set the library's
// logger while the others' clients log: the library's variable is written
// once, so -race sees no race, and lines go to the latest route still in
// place.
func TestSetLoggerConcurrently(t *testing.T) {
	first := &logRecorder{}
	removeFirst := SetLogger(slog.New(first))
	defer removeFirst()
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(2)
		go func() {
			defer wg.Done()
			remove := SetLogger(slog.New(&logRecorder{}))
			remove()
			remove() // idempotent
		}()
		go func() {
			defer wg.Done()
			influxlog.Log.Error("from a running client")
		}()
	}
	wg.Wait()
	n := first.count(slog.LevelError)
	influxlog.Log.Error("after the others stopped")
	if got := first.count(slog.LevelError); got != n+1 {
		t.Fatalf("the first route got %d lines after the others were removed, want %d", got, n+1)
	}
}
