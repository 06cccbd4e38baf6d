package influx

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	influxhttp "github.com/influxdata/influxdb-client-go/v2/api/http"
)

// removeTimeout bounds Spool.Remove once a batch is written: the removal
// runs even when ctx has just ended, so a written batch is not sent twice.
const removeTimeout = 5 * time.Second

// batch is the lines of one Peek while they are being delivered. done marks
// lines already written or set aside, so that a retry after a failure in
// the middle of a bisection sends only the rest and sets nothing aside twice.
type batch struct {
	lastID int64
	lines  [][]byte
	done   []bool
}

func (b *batch) undone() []int {
	idx := make([]int, 0, len(b.lines))
	for i, d := range b.done {
		if !d {
			idx = append(idx, i)
		}
	}
	return idx
}

// drainOne delivers one batch from the spool and removes it, retrying with
// back-off until it succeeds or ctx ends. It reports whether the spool was
// empty. Its only error is ctx's.
func (w *Writer) drainOne(ctx context.Context) (empty bool, err error) {
	select {
	case w.drain <- struct{}{}:
	case <-ctx.Done():
		return false, ctx.Err()
	}
	defer func() { <-w.drain }()
	for {
		empty, err := w.tryOne(ctx)
		if err == nil {
			return empty, nil
		}
		if ctx.Err() != nil {
			return false, ctx.Err()
		}
		w.failed(err)
		if !w.wait(ctx, err) {
			return false, ctx.Err()
		}
	}
}

// tryOne makes one attempt at the batch at the head of the spool.
func (w *Writer) tryOne(ctx context.Context) (empty bool, err error) {
	if w.pending == nil {
		lastID, lines, err := w.spool.Peek(ctx, w.cfg.BatchSize)
		if err != nil {
			return false, fmt.Errorf("peek spool: %w", err)
		}
		if len(lines) == 0 {
			return true, nil
		}
		w.pending = &batch{lastID: lastID, lines: lines, done: make([]bool, len(lines))}
	}
	b := w.pending
	if err := w.writeLines(ctx, b, b.undone()); err != nil {
		return false, err
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), removeTimeout)
	defer cancel()
	if err := w.spool.Remove(rctx, b.lastID); err != nil {
		return false, fmt.Errorf("remove from spool through %d: %w", b.lastID, err)
	}
	w.lastSize.Store(int64(len(b.lines)))
	w.pending = nil
	w.batches.Add(1)
	w.recovered()
	return false, nil
}

// writeLines writes the lines idx of b. When InfluxDB rejects the request
// for good (a 4xx such as a field type conflict), it bisects to find the
// lines at fault and sets them aside, writing the rest. Writing a line
// again is harmless: InfluxDB keeps one value per series, field and time,
// and 1.8 keeps the good lines of a partly rejected request anyway.
func (w *Writer) writeLines(ctx context.Context, b *batch, idx []int) error {
	if len(idx) == 0 {
		return nil
	}
	err := w.post(ctx, b, idx)
	if err == nil {
		for _, i := range idx {
			b.done[i] = true
		}
		w.written.Add(int64(len(idx)))
		w.lastSuccess.Store(time.Now().UnixNano())
		w.reachable.Store(true)
		return nil
	}
	if classify(err) != classRejected {
		return err
	}
	w.reachable.Store(true) // it answered, and will take other lines
	if len(idx) == 1 {
		if err := w.deadLetter(b.lines[idx[0]], err); err != nil {
			return err
		}
		b.done[idx[0]] = true
		return nil
	}
	mid := len(idx) / 2
	if err := w.writeLines(ctx, b, idx[:mid]); err != nil {
		return err
	}
	return w.writeLines(ctx, b, idx[mid:])
}

// post sends the lines idx of b in one request.
func (w *Writer) post(ctx context.Context, b *batch, idx []int) error {
	n := 0
	for _, i := range idx {
		n += len(b.lines[i]) + 1
	}
	var body strings.Builder
	body.Grow(n)
	for _, i := range idx {
		body.Write(b.lines[i])
		body.WriteByte('\n')
	}
	ctx, cancel := context.WithTimeout(ctx, w.cfg.Timeout)
	defer cancel()
	if err := w.write.WriteRecord(ctx, body.String()); err != nil {
		var he *influxhttp.Error
		if errors.As(err, &he) && he.StatusCode != 0 {
			return fmt.Errorf("write %d lines to influx: status %d: %w", len(idx), he.StatusCode, err)
		}
		return fmt.Errorf("write %d lines to influx: %w", len(idx), err)
	}
	return nil
}

// class is what a failed write means for the lines in it.
type class int

const (
	classRetry    class = iota // network error, timeout, 5xx, 429: keep and retry
	classConfig                // 401, 403, 404: the token or bucket is wrong; keep, retry, log loudly
	classRejected              // 400, 413, 422: these lines will never be taken; bisect
	classLocal                 // the spool or the dead-letter file failed; keep and retry
)

// classify reads the status code the client reports in *http.Error; a
// network error or a timeout has status 0.
func classify(err error) class {
	var he *influxhttp.Error
	if !errors.As(err, &he) {
		return classLocal
	}
	switch code := he.StatusCode; {
	case code == http.StatusBadRequest, code == http.StatusRequestEntityTooLarge, code == http.StatusUnprocessableEntity:
		return classRejected
	case code == http.StatusUnauthorized, code == http.StatusForbidden, code == http.StatusNotFound:
		return classConfig
	default:
		return classRetry
	}
}

// failed counts a failed attempt and logs it at a bounded rate: the first
// failure of a streak, then one line per logEvery with the running count.
func (w *Writer) failed(err error) {
	w.failures.Add(1)
	msg := err.Error()
	w.lastError.Store(&msg)
	c := classify(err)
	if c != classLocal {
		w.reachable.Store(false)
	}
	now := time.Now()
	s := &w.streak
	if s.count == 0 {
		s.since = now
	}
	s.count++
	if s.count > 1 && now.Sub(s.loggedAt) < w.logEvery {
		return
	}
	s.loggedAt = now
	level, text := slog.LevelWarn, "influx write failing; keeping the lines and retrying"
	switch c {
	case classConfig:
		level, text = slog.LevelError, "influx refuses the token or does not know the bucket; keeping the lines and retrying: check the influx token and bucket settings"
	case classLocal:
		level, text = slog.LevelError, "influx writer cannot use its spool or dead-letter file; retrying"
	}
	w.log.Log(context.Background(), level, text, "err", err, "failures", s.count,
		"since", s.since.Format(time.RFC3339), "spool_depth", w.spool.Depth())
}

// recovered ends a failure streak after a batch went through.
func (w *Writer) recovered() {
	if w.streak.count > 0 {
		w.log.Info("influx writes recovered", "failures", w.streak.count,
			"outage", time.Since(w.streak.since).Round(time.Millisecond), "spool_depth", w.spool.Depth())
	}
	w.streak = streak{}
	w.backoff = 0
}

// wait sleeps for the next back-off, 100 ms doubling to MaxBackoff, or for
// the server's Retry-After when it asks for longer. It reports false if ctx
// ended first.
func (w *Writer) wait(ctx context.Context, err error) bool {
	d := max(w.backoff, min(w.minBackoff, w.cfg.MaxBackoff))
	var he *influxhttp.Error
	if errors.As(err, &he) && he.RetryAfter > 0 {
		d = max(d, min(time.Duration(he.RetryAfter)*time.Second, w.cfg.MaxBackoff))
	}
	w.backoff = min(2*d, w.cfg.MaxBackoff)
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// deadLetter sets aside one line InfluxDB rejected for good, with the
// reason as a comment line, so the file stays importable line protocol. A
// failure to write the file is retried like any other: the line stays in the
// spool until it is set aside somewhere.
func (w *Writer) deadLetter(line []byte, cause error) error {
	reason := strings.Join(strings.Fields(cause.Error()), " ")
	if path := w.cfg.DeadLetterPath; path != "" {
		w.deadMu.Lock()
		err := appendFile(path, fmt.Sprintf("# rejected %s: %s\n%s\n", time.Now().UTC().Format(time.RFC3339), reason, line))
		w.deadMu.Unlock()
		if err != nil {
			return fmt.Errorf("set aside a rejected line: %w", err)
		}
	}
	w.deadLettered.Add(1)
	if now := time.Now(); w.cfg.DeadLetterPath == "" || now.Sub(w.rejectAt) >= w.logEvery {
		w.rejectAt = now
		w.log.Warn("influx rejected a line for good; set aside", "file", w.cfg.DeadLetterPath,
			"reason", reason, "line", string(line), "rejected_total", w.deadLettered.Load())
	}
	return nil
}

func appendFile(path, text string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(text); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
