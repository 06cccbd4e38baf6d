package influx

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"

	influxlog "github.com/influxdata/influxdb-client-go/v2/log"
)

// SetLogger routes the client library's own log lines to l, at errors only
// unless the library's level is raised through the adapter's SetLogLevel.
//
// The library logs through one package-level variable, so this is global to
// the process, unlike the rest of this package: call it once, at start-up,
// before any Writer exists (the variable is read without synchronisation).
// A nil l silences the library. Without SetLogger the library writes errors
// to the standard log package.
func SetLogger(l *slog.Logger) {
	if l == nil {
		influxlog.Log = nil
		return
	}
	a := &slogAdapter{l: l.With("component", "influxdb-client")}
	a.level.Store(uint32(influxlog.ErrorLevel))
	influxlog.Log = a
}

// slogAdapter implements the library's log.Logger on a *slog.Logger. The
// library's levels count up from ErrorLevel (0) to DebugLevel (3).
type slogAdapter struct {
	l     *slog.Logger
	level atomic.Uint32
}

var _ influxlog.Logger = (*slogAdapter)(nil)

func (a *slogAdapter) log(level uint, sl slog.Level, msg string) {
	if uint(a.level.Load()) >= level {
		a.l.Log(context.Background(), sl, strings.TrimSpace(msg))
	}
}

func (a *slogAdapter) Debugf(format string, v ...any) {
	if uint(a.level.Load()) >= influxlog.DebugLevel {
		a.log(influxlog.DebugLevel, slog.LevelDebug, fmt.Sprintf(format, v...))
	}
}
func (a *slogAdapter) Debug(msg string) { a.log(influxlog.DebugLevel, slog.LevelDebug, msg) }
func (a *slogAdapter) Infof(format string, v ...any) {
	if uint(a.level.Load()) >= influxlog.InfoLevel {
		a.log(influxlog.InfoLevel, slog.LevelInfo, fmt.Sprintf(format, v...))
	}
}
func (a *slogAdapter) Info(msg string) { a.log(influxlog.InfoLevel, slog.LevelInfo, msg) }
func (a *slogAdapter) Warnf(format string, v ...any) {
	if uint(a.level.Load()) >= influxlog.WarningLevel {
		a.log(influxlog.WarningLevel, slog.LevelWarn, fmt.Sprintf(format, v...))
	}
}
func (a *slogAdapter) Warn(msg string) { a.log(influxlog.WarningLevel, slog.LevelWarn, msg) }
func (a *slogAdapter) Errorf(format string, v ...any) {
	a.log(influxlog.ErrorLevel, slog.LevelError, fmt.Sprintf(format, v...))
}
func (a *slogAdapter) Error(msg string)       { a.log(influxlog.ErrorLevel, slog.LevelError, msg) }
func (a *slogAdapter) SetLogLevel(level uint) { a.level.Store(uint32(level)) }
func (a *slogAdapter) LogLevel() uint         { return uint(a.level.Load()) }
func (a *slogAdapter) SetPrefix(string)       {} // slog carries the component attribute instead
