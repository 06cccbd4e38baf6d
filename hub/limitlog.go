package hub

import (
	"log/slog"
	"time"

	"github.com/shouwang-hub/shouwang/hub/limitlog"
)

// limitedLogger logs a recurring condition at most once per interval per
// key (hub/limitlog, shared with the embedded broker).
type limitedLogger = limitlog.Logger

func newLimitedLogger(l *slog.Logger, interval time.Duration, now func() time.Time) *limitedLogger {
	return limitlog.New(l, interval, now)
}
