package outbox

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/shouwang-hub/shouwang/devices"
)

// Spool is the durable outbox in front of InfluxDB: records wait in it, in
// order, until the drainer (hub/influx's Writer) has delivered them. A
// record is opaque here — one line of bytes, non-empty and without a
// newline; for InfluxDB it is a line of line protocol, made by the adapter
// that knows the format. Each Append is one row holding all its records,
// so a commit costs one insert however many it carries; the telemetry
// de-duplication windows the records were accepted under are committed in
// the same transaction (windowlog.go). The spool is its own SQLite file
// (never PostgreSQL, whatever the main store is), so telemetry never
// contends with the registry.
//
// It is safe for concurrent use: Appends run one at a time, Append and
// Remove share the single writer connection, Peek reads beside them.
type Spool struct {
	db       *pools
	logger   *slog.Logger
	depth    atomic.Int64
	bytes    atomic.Int64
	appended chan struct{}

	// upsertFull writes windowsPerUpsert windows, prepared once: the
	// statement is long, and most commits of a busy hub use it.
	upsertFull *sql.Stmt

	// appendMu makes each Append whole — its transaction and the window
	// log's view after the commit — before the next (the telemetry
	// committer and the alert feed both append).
	appendMu sync.Mutex
	wlog     windowLog // guarded by appendMu

	// beforeCommit, when set by a test, runs at the end of Append's
	// transaction; an error from it aborts the Append.
	beforeCommit func() error

	closeOnce sync.Once
	closeErr  error
}

// spoolReaders is the size of the spool's read pool: one drainer peeks.
const spoolReaders = 2

// windowBytes is the size of a SeqWindow's Bits as stored.
const windowBytes = devices.WindowSize / 8

const (
	insertBatch       = `INSERT INTO outbox (line, n) VALUES (?, ?)`
	upsertWindowsHead = `INSERT INTO telemetry_seq (device_id, max_seq, max_ts, bits) VALUES `
	upsertWindowsTail = ` ON CONFLICT (device_id) DO UPDATE SET max_seq = excluded.max_seq, max_ts = excluded.max_ts, bits = excluded.bits`
	// windowsPerUpsert is how many windows one statement writes (4
	// parameters each, well under SQLite's limit of 32766).
	windowsPerUpsert = 250
)

// Open opens (creating if needed) the spool file at path, brings its
// schema up to date and counts the records waiting in it. A nil logger
// discards.
func Open(path string, logger *slog.Logger) (*Spool, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	ctx := context.Background()
	db, err := openFile(ctx, path, spoolReaders, logger)
	if err != nil {
		return nil, fmt.Errorf("open spool: %w", err)
	}
	full, err := db.w.PrepareContext(ctx, upsertWindowsSQL(windowsPerUpsert))
	if err != nil {
		db.close()
		return nil, fmt.Errorf("open spool: prepare: %w", err)
	}
	s := &Spool{db: db, logger: logger, appended: make(chan struct{}, 1), upsertFull: full}
	if err := s.foldWindowLog(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("open spool: %w", err)
	}
	var n, b int64
	if err := db.r.QueryRowContext(ctx, `SELECT COALESCE(SUM(n), 0), COALESCE(SUM(LENGTH(line) - n + 1), 0) FROM outbox`).Scan(&n, &b); err != nil {
		db.close()
		return nil, fmt.Errorf("open spool: count records: %w", err)
	}
	s.depth.Store(n)
	s.bytes.Store(b)
	if n > 0 {
		logger.Info("spool has records waiting", "records", n, "bytes", b)
	}
	return s, nil
}

// Close closes the spool file. It is safe to call more than once.
func (s *Spool) Close() error {
	s.closeOnce.Do(func() { s.closeErr = errors.Join(s.upsertFull.Close(), s.db.close()) })
	return s.closeErr
}

// Append stores records (lines) at the end of the outbox and the given
// de-duplication windows in one transaction: both or neither. When it
// returns nil they are on disk. Every line must be non-empty and without a
// newline.
func (s *Spool) Append(ctx context.Context, lines [][]byte, windows map[string]devices.SeqWindow) error {
	if len(lines) == 0 && len(windows) == 0 {
		return nil
	}
	var size int64
	for i, l := range lines {
		if len(l) == 0 {
			return fmt.Errorf("spool append: line %d is empty", i)
		}
		if bytes.IndexByte(l, '\n') >= 0 {
			return fmt.Errorf("spool append: line %d has a newline", i)
		}
		size += int64(len(l))
	}
	s.appendMu.Lock()
	defer s.appendMu.Unlock()
	tx, err := s.db.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("spool append: %w", err)
	}
	defer rollback(tx)
	committed, err := s.appendTx(ctx, tx, lines, windows)
	if err != nil {
		return fmt.Errorf("spool append: %w", err)
	}
	// Counted before the commit, while this transaction still holds the only
	// writer connection, so a Remove cannot subtract the lines first and
	// Depth never goes below the truth; undone if the commit fails.
	s.depth.Add(int64(len(lines)))
	s.bytes.Add(size)
	if err := tx.Commit(); err != nil {
		s.depth.Add(-int64(len(lines)))
		s.bytes.Add(-size)
		return fmt.Errorf("spool append: commit: %w", err)
	}
	committed()
	select {
	case s.appended <- struct{}{}:
	default:
	}
	return nil
}

func (s *Spool) appendTx(ctx context.Context, tx *sql.Tx, lines [][]byte, windows map[string]devices.SeqWindow) (committed func(), err error) {
	if len(lines) > 0 {
		if _, err := tx.ExecContext(ctx, insertBatch, bytes.Join(lines, []byte{'\n'}), len(lines)); err != nil {
			return nil, err
		}
	}
	committed, err = s.logWindowsTx(ctx, tx, windows)
	if err != nil {
		return nil, err
	}
	if s.beforeCommit != nil {
		if err := s.beforeCommit(); err != nil {
			return nil, err
		}
	}
	return committed, nil
}

// SeqWindows returns every stored de-duplication window, by device ID: the
// table's, replaced by newer ones from the window log.
func (s *Spool) SeqWindows(ctx context.Context) (map[string]devices.SeqWindow, error) {
	rows, err := s.db.r.QueryContext(ctx, `SELECT device_id, max_seq, max_ts, bits FROM telemetry_seq`)
	if err != nil {
		return nil, fmt.Errorf("spool windows: %w", err)
	}
	defer rows.Close()
	out := make(map[string]devices.SeqWindow)
	for rows.Next() {
		var (
			id     string
			maxSeq int64
			w      devices.SeqWindow
			bits   []byte
		)
		if err := rows.Scan(&id, &maxSeq, &w.MaxTS, &bits); err != nil {
			return nil, fmt.Errorf("spool windows: %w", err)
		}
		if len(bits) != windowBytes {
			return nil, fmt.Errorf("spool windows: device %q: %d bytes of window, want %d", id, len(bits), windowBytes)
		}
		w.Max = uint64(maxSeq)
		for i := range w.Bits {
			w.Bits[i] = binary.LittleEndian.Uint64(bits[i*8:])
		}
		out[id] = w
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("spool windows: %w", err)
	}
	logged, err := s.loggedWindows(ctx, s.db.r)
	if err != nil {
		return nil, fmt.Errorf("spool windows: %w", err)
	}
	for id, w := range logged {
		out[id] = w
	}
	return out, nil
}

// Peek returns the oldest lines, in order, and the ID of the last record
// they come from; lastID is 0 when the spool is empty. It returns whole
// records (one Append each) while they fit in limit lines, and at least one
// record even if it holds more. The records stay until Remove.
func (s *Spool) Peek(ctx context.Context, limit int) (lastID int64, lines [][]byte, err error) {
	if limit <= 0 {
		return 0, nil, fmt.Errorf("spool peek: limit %d: must be positive", limit)
	}
	rows, err := s.db.r.QueryContext(ctx, `SELECT id, line, n FROM outbox ORDER BY id LIMIT ?`, limit)
	if err != nil {
		return 0, nil, fmt.Errorf("spool peek: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			id    int64
			batch []byte
			n     int
		)
		if err := rows.Scan(&id, &batch, &n); err != nil {
			return 0, nil, fmt.Errorf("spool peek: %w", err)
		}
		if len(lines) > 0 && len(lines)+n > limit {
			break
		}
		lastID = id
		for l := range bytes.SplitSeq(batch, []byte{'\n'}) {
			lines = append(lines, l)
		}
	}
	if err := rows.Err(); err != nil {
		return 0, nil, fmt.Errorf("spool peek: %w", err)
	}
	return lastID, lines, nil
}

// Remove deletes every record with an ID up to throughID, the lastID of a
// Peek whose lines were written.
func (s *Spool) Remove(ctx context.Context, throughID int64) error {
	if throughID <= 0 {
		return nil
	}
	tx, err := s.db.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("spool remove: %w", err)
	}
	defer rollback(tx)
	var n, size int64
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(SUM(n), 0), COALESCE(SUM(LENGTH(line) - n + 1), 0) FROM outbox WHERE id <= ?`, throughID).Scan(&n, &size); err != nil {
		return fmt.Errorf("spool remove: %w", err)
	}
	if n == 0 {
		return nil
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM outbox WHERE id <= ?`, throughID); err != nil {
		return fmt.Errorf("spool remove: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("spool remove: commit: %w", err)
	}
	s.depth.Add(-n)
	s.bytes.Add(-size)
	return nil
}

// Depth is the number of lines waiting.
func (s *Spool) Depth() int64 { return s.depth.Load() }

// Bytes is how many bytes of lines are waiting, newlines not counted.
func (s *Spool) Bytes() int64 { return s.bytes.Load() }

// Appended is signalled after every successful Append (a capacity-1
// channel, sent to without blocking), so the drainer can wait for work
// instead of polling.
func (s *Spool) Appended() <-chan struct{} { return s.appended }
