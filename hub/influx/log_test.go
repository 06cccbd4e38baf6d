package influx

import (
	"log/slog"
	"testing"

	influxlog "github.com/influxdata/influxdb-client-go/v2/log"
)

func TestSetLogger(t *testing.T) {
	saved := influxlog.Log
	t.Cleanup(func() { influxlog.Log = saved })

	logs := &logRecorder{}
	SetLogger(slog.New(logs))
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
	l.Debugf("d %s", "x")
	l.Info("i")
	l.Warnf("w")
	if logs.count(slog.LevelDebug) != 1 || logs.count(slog.LevelInfo) != 1 || logs.count(slog.LevelWarn) != 1 {
		t.Fatalf("records after raising the level: %d", len(logs.records))
	}
	SetLogger(nil)
	if influxlog.Log != nil {
		t.Fatal("SetLogger(nil) should silence the library")
	}
}
