package hub

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// limitedLogger logs a recurring condition at most once per interval per
// key, saying how many were suppressed, so a flood of bad messages cannot
// flood the log. The set of keys is bounded by forgetting old ones.
type limitedLogger struct {
	logger   *slog.Logger
	interval time.Duration
	now      func() time.Time

	mu   sync.Mutex
	last map[string]*limitState
}

type limitState struct {
	at         time.Time
	suppressed int
}

const maxLimitKeys = 10_000

func newLimitedLogger(l *slog.Logger, interval time.Duration, now func() time.Time) *limitedLogger {
	return &limitedLogger{logger: l, interval: interval, now: now, last: make(map[string]*limitState)}
}

// Warn logs at warn level unless key logged within the interval.
func (l *limitedLogger) Warn(key, msg string, args ...any) {
	l.Log(slog.LevelWarn, key, msg, args...)
}

// Error logs at error level unless key logged within the interval.
func (l *limitedLogger) Error(key, msg string, args ...any) {
	l.Log(slog.LevelError, key, msg, args...)
}

// Log logs at level unless key logged within the interval; the line says
// how many were suppressed since the last.
func (l *limitedLogger) Log(level slog.Level, key, msg string, args ...any) {
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
func (l *limitedLogger) Allow(key string, interval time.Duration) bool {
	ok, _ := l.allow(key, interval)
	return ok
}

func (l *limitedLogger) allow(key string, interval time.Duration) (bool, int) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	st, ok := l.last[key]
	if ok && now.Sub(st.at) < interval {
		st.suppressed++
		return false, 0
	}
	if !ok {
		if len(l.last) >= maxLimitKeys {
			for k, v := range l.last {
				if now.Sub(v.at) >= interval {
					delete(l.last, k)
				}
			}
			if len(l.last) >= maxLimitKeys {
				clear(l.last)
			}
		}
		st = &limitState{}
		l.last[key] = st
	}
	suppressed := st.suppressed
	st.at, st.suppressed = now, 0
	return true, suppressed
}
