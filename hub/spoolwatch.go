package hub

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"syscall"
	"time"
)

// SpoolDepth is what SpoolWatch reads.
type SpoolDepth interface {
	Depth() int64
	Bytes() int64
}

// SpoolWatch warns long before an InfluxDB outage fills the disk: at half
// and at all of the configured depth, and when the data directory's file
// system has less free space than twice what the spool already holds (or
// under 1 GiB). It never drops anything: the spool is the only copy.
type SpoolWatch struct {
	spool    SpoolDepth
	dir      string
	warnAt   int64
	logger   *slog.Logger
	interval time.Duration

	mu       sync.Mutex
	warning  string
	diskFree int64
}

// NewSpoolWatch watches spool, whose file lives in dir.
func NewSpoolWatch(spool SpoolDepth, dir string, warnDepth int64, logger *slog.Logger) *SpoolWatch {
	w := &SpoolWatch{spool: spool, dir: dir, warnAt: warnDepth, logger: logger, interval: 15 * time.Second}
	w.check()
	return w
}

// Run checks periodically until ctx is done.
func (w *SpoolWatch) Run(ctx context.Context) {
	t := time.NewTicker(w.interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			w.check()
		}
	}
}

// Warning is the current warning, or "".
func (w *SpoolWatch) Warning() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.warning
}

// DiskFree is the free space last measured on the data file system.
func (w *SpoolWatch) DiskFree() int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.diskFree
}

func (w *SpoolWatch) check() {
	depth, size := w.spool.Depth(), w.spool.Bytes()
	var fs syscall.Statfs_t
	free := int64(-1)
	if err := syscall.Statfs(w.dir, &fs); err == nil {
		free = int64(fs.Bavail) * int64(fs.Bsize)
	}
	var warning string
	switch {
	case free >= 0 && (free < 1<<30 || free < 2*size):
		warning = fmt.Sprintf("disk nearly full: %d MiB free, spool holds %d lines (%d MiB)", free>>20, depth, size>>20)
	case depth >= w.warnAt:
		warning = fmt.Sprintf("spool at %d lines, past the warning depth %d: is InfluxDB down?", depth, w.warnAt)
	case depth >= w.warnAt/2:
		warning = fmt.Sprintf("spool at %d lines, half the warning depth %d", depth, w.warnAt)
	}
	w.mu.Lock()
	prev := w.warning
	w.warning, w.diskFree = warning, free
	w.mu.Unlock()
	if warning != "" {
		w.logger.Warn("spool", "warning", warning)
	} else if prev != "" {
		w.logger.Info("spool back to normal", "depth", depth)
	}
}
