package outbox

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"syscall"
	"time"
)

// depths is what a Watch reads of the spool.
type depths interface {
	Depth() int64
	Bytes() int64
}

// Watch warns long before an InfluxDB outage fills the disk: at half and
// at all of the configured depth, and when the data directory's file
// system has less free space than twice what the spool already holds (or
// under 1 GiB). It never drops anything: the spool is the only copy.
type Watch struct {
	spool    depths
	dir      string
	warnAt   int64
	logger   *slog.Logger
	interval time.Duration
	free     func(dir string) (int64, error) // bytes free on dir's file system

	mu       sync.Mutex
	warning  string
	diskFree int64
}

// NewWatch watches spool, whose file lives in dir, and checks it once.
func NewWatch(spool *Spool, dir string, warnDepth int64, logger *slog.Logger) *Watch {
	return newWatch(spool, dir, warnDepth, logger)
}

func newWatch(spool depths, dir string, warnDepth int64, logger *slog.Logger) *Watch {
	w := &Watch{spool: spool, dir: dir, warnAt: warnDepth, logger: logger, interval: 15 * time.Second, free: diskFree}
	w.check()
	return w
}

// diskFree is the space an unprivileged writer has left on dir's file
// system.
func diskFree(dir string) (int64, error) {
	var fs syscall.Statfs_t
	if err := syscall.Statfs(dir, &fs); err != nil {
		return 0, err
	}
	return int64(fs.Bavail) * int64(fs.Bsize), nil
}

// Run checks periodically until ctx is done.
func (w *Watch) Run(ctx context.Context) {
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
func (w *Watch) Warning() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.warning
}

// DiskFree is the free space last measured on the data file system.
func (w *Watch) DiskFree() int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.diskFree
}

func (w *Watch) check() {
	depth, size := w.spool.Depth(), w.spool.Bytes()
	free, err := w.free(w.dir)
	if err != nil {
		free = -1
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
