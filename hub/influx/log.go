package influx

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	influxlog "github.com/influxdata/influxdb-client-go/v2/log"
)

// SetLogger routes the client library's own log lines to l, at errors only
// unless the library's level is raised through its logger's SetLogLevel, until
// the returned function is called (once it has returned, no line reaches
// l). A nil l silences the library meanwhile.
//
// The library logs through one package-level variable that its clients read
// without synchronisation, so it is written once per process, by the first
// SetLogger, with a router; each SetLogger after that only adds a route. The
// router sends every line to the latest route still in place: a process that
// runs several hubs at once (the tests do) gets all their clients' lines in
// the newest hub's log, and a hub that stops hands them back to the one
// before. Without SetLogger the library writes errors to the standard log
// package; after the last route is removed it is silent.
func SetLogger(l *slog.Logger) (remove func()) {
	installRouter.Do(func() {
		router.level.Store(uint32(influxlog.ErrorLevel))
		influxlog.Log = router
	})
	r := &route{}
	if l != nil {
		r.l = l.With("component", "influxdb-client")
	}
	router.mu.Lock()
	router.routes = append(router.routes, r)
	router.mu.Unlock()
	return sync.OnceFunc(func() {
		router.mu.Lock()
		router.routes = slices.DeleteFunc(router.routes, func(x *route) bool { return x == r })
		router.mu.Unlock()
	})
}

var (
	installRouter sync.Once
	router        = &slogAdapter{}
)

// route is one SetLogger's destination; a nil l drops the lines.
type route struct{ l *slog.Logger }

// slogAdapter implements the library's log.Logger on the latest route's
// *slog.Logger. The library's levels count up from ErrorLevel (0) to
// DebugLevel (3).
type slogAdapter struct {
	level  atomic.Uint32
	mu     sync.RWMutex // held for reading while a line is logged
	routes []*route
}

var _ influxlog.Logger = (*slogAdapter)(nil)

func (a *slogAdapter) log(level uint, sl slog.Level, msg string) {
	if uint(a.level.Load()) < level {
		return
	}
	a.mu.RLock() // held while logging: once a route is removed, no line reaches it
	defer a.mu.RUnlock()
	if n := len(a.routes); n > 0 && a.routes[n-1].l != nil {
		a.routes[n-1].l.Log(context.Background(), sl, strings.TrimSpace(msg))
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
