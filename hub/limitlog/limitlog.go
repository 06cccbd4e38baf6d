// Package limitlog logs a recurring condition at a bounded rate: at most
// one line per interval per key, saying how many were left out. A flood of
// bad messages or a disk that stays full must not flood the log.
package limitlog

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// Logger logs a recurring condition at most once per interval per
// key, saying how many were suppressed, so a flood of bad messages cannot
// flood the log. The set of keys is bounded by forgetting old ones.
type Logger struct {
	logger   *slog.Logger
	interval time.Duration
	now      func() time.Time

	mu   sync.Mutex
	last map[string]*state
}

type state struct {
	at         time.Time
	suppressed int
}

const maxKeys = 10_000

// New returns a Logger writing to l, at most once per interval per key;
// now is the clock (time.Now).
func New(l *slog.Logger, interval time.Duration, now func() time.Time) *Logger {
	return &Logger{logger: l, interval: interval, now: now, last: make(map[string]*state)}
}

// Warn logs at warn level unless key logged within the interval.
func (l *Logger) Warn(key, msg string, args ...any) {
	l.Log(slog.LevelWarn, key, msg, args...)
}

// Error logs at error level unless key logged within the interval.
func (l *Logger) Error(key, msg string, args ...any) {
	l.Log(slog.LevelError, key, msg, args...)
}

// Log logs at level unless key logged within the interval; the line says
// how many were suppressed since the last.
func (l *Logger) Log(level slog.Level, key, msg string, args ...any) {
	ok, suppressed := l.allow(key, l.interval)
	if !ok {
		return
	}
	if suppressed > 0 {
		args = append(args, "suppressed", suppressed)
	}
	l.logger.Log(context.Background(), level, msg, args...)
}

// Allow reports whether key may act now, at most once per interval.
func (l *Logger) Allow(key string, interval time.Duration) bool {
	ok, _ := l.allow(key, interval)
	return ok
}

func (l *Logger) allow(key string, interval time.Duration) (bool, int) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	st, ok := l.last[key]
	if ok && now.Sub(st.at) < interval {
		st.suppressed++
		return false, 0
	}
	if !ok {
		if len(l.last) >= maxKeys {
			for k, v := range l.last {
				if now.Sub(v.at) >= interval {
					delete(l.last, k)
				}
			}
			if len(l.last) >= maxKeys {
				clear(l.last)
			}
		}
		st = &state{}
		l.last[key] = st
	}
	suppressed := st.suppressed
	st.at, st.suppressed = now, 0
	return true, suppressed
}
