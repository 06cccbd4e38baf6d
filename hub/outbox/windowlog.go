package outbox

import (
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/shouwang-hub/shouwang/devices"
)

// The de-duplication windows change with nearly every telemetry message, a
// window per device. Upserting every changed window in every commit cost a
// busy hub more CPU than anything else it did with a message, so a commit
// instead appends the windows it changed, as one blob, to a log (seq_log);
// and at a checkpoint — every checkpointEvery, or when the log has grown
// past checkpointBytes — the commit writes the latest window of every
// device changed since the last checkpoint to telemetry_seq and empties the
// log. Both happen in the commit's own transaction, so the windows on disk
// always match the lines. Reading the windows replays the log over the
// table.

// Defaults for the checkpoints.
const (
	defaultCheckpointEvery = 10 * time.Second
	defaultCheckpointBytes = 16 << 20
)

// windowLogVersion is the first byte of a log blob.
const windowLogVersion = 1

// windowLog is the appender's view of the log: what it holds beyond the
// table. Only Append (one appender) and Open use it.
type windowLog struct {
	dirty      map[string]devices.SeqWindow // changed since the last checkpoint
	bytes      int64                        // size of the log's blobs
	checkpoint time.Time                    // the last one
	every      time.Duration
	maxBytes   int64
}

// logWindowsTx records windows in tx: appended to the log, or, when a
// checkpoint is due, written to the table with everything the log holds,
// emptying it. The returned function updates the appender's view once tx
// has committed.
func (s *Spool) logWindowsTx(ctx context.Context, tx *sql.Tx, windows map[string]devices.SeqWindow) (committed func(), err error) {
	if len(windows) == 0 {
		return func() {}, nil
	}
	l := &s.wlog
	now := time.Now()
	blob := encodeWindows(windows)
	if now.Sub(l.checkpoint) < l.every && l.bytes+int64(len(blob)) < l.maxBytes {
		if _, err := tx.ExecContext(ctx, `INSERT INTO seq_log (windows) VALUES (?)`, blob); err != nil {
			return nil, fmt.Errorf("window log: %w", err)
		}
		return func() {
			for id, w := range windows {
				l.dirty[id] = w
			}
			l.bytes += int64(len(blob))
		}, nil
	}
	all := make(map[string]devices.SeqWindow, len(l.dirty)+len(windows))
	for id, w := range l.dirty {
		all[id] = w
	}
	for id, w := range windows {
		all[id] = w
	}
	if err := s.checkpointTx(ctx, tx, all); err != nil {
		return nil, err
	}
	return func() {
		clear(l.dirty)
		l.bytes = 0
		l.checkpoint = now
	}, nil
}

// checkpointTx writes windows to the table and empties the log.
func (s *Spool) checkpointTx(ctx context.Context, tx *sql.Tx, windows map[string]devices.SeqWindow) error {
	if err := s.upsertWindows(ctx, tx, windows); err != nil {
		return fmt.Errorf("window checkpoint: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM seq_log`); err != nil {
		return fmt.Errorf("window checkpoint: %w", err)
	}
	return nil
}

// foldWindowLog checkpoints what the log holds when the spool opens, so the
// appender starts with an empty log and nothing dirty.
func (s *Spool) foldWindowLog(ctx context.Context) error {
	logged, err := s.loggedWindows(ctx, s.db.w)
	if err != nil {
		return err
	}
	s.wlog = windowLog{
		dirty: make(map[string]devices.SeqWindow), checkpoint: time.Now(),
		every: defaultCheckpointEvery, maxBytes: defaultCheckpointBytes,
	}
	if len(logged) == 0 {
		return nil
	}
	tx, err := s.db.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("window checkpoint: %w", err)
	}
	defer rollback(tx)
	if err := s.checkpointTx(ctx, tx, logged); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("window checkpoint: commit: %w", err)
	}
	s.logger.Info("folded the window log into the windows", "devices", len(logged))
	return nil
}

// upsertWindows writes the windows with a few multi-row statements.
func (s *Spool) upsertWindows(ctx context.Context, tx *sql.Tx, windows map[string]devices.SeqWindow) error {
	if len(windows) == 0 {
		return nil
	}
	ids := make([]string, 0, len(windows))
	for id := range windows {
		ids = append(ids, id)
	}
	slices.Sort(ids) // in key order: the b-tree is walked once
	args := make([]any, 0, 4*min(len(ids), windowsPerUpsert))
	bits := make([]byte, windowBytes*len(ids))
	for chunk := range slices.Chunk(ids, windowsPerUpsert) {
		args = args[:0]
		for _, id := range chunk {
			w := windows[id]
			b := bits[:windowBytes:windowBytes]
			bits = bits[windowBytes:]
			for j, word := range w.Bits {
				binary.LittleEndian.PutUint64(b[j*8:], word)
			}
			// max_seq keeps the uint64's bits in SQLite's int64.
			args = append(args, id, int64(w.Max), w.MaxTS, b)
		}
		var err error
		if len(chunk) == windowsPerUpsert {
			_, err = tx.StmtContext(ctx, s.upsertFull).ExecContext(ctx, args...)
		} else {
			_, err = tx.ExecContext(ctx, upsertWindowsSQL(len(chunk)), args...)
		}
		if err != nil {
			return fmt.Errorf("windows: %w", err)
		}
	}
	return nil
}

// upsertWindowsSQL is the statement that writes n windows.
func upsertWindowsSQL(n int) string {
	var q strings.Builder
	q.WriteString(upsertWindowsHead)
	for i := range n {
		if i > 0 {
			q.WriteByte(',')
		}
		q.WriteString("(?,?,?,?)")
	}
	q.WriteString(upsertWindowsTail)
	return q.String()
}

// loggedWindows replays the log: the latest logged window of each device.
func (s *Spool) loggedWindows(ctx context.Context, q querier) (map[string]devices.SeqWindow, error) {
	rows, err := q.QueryContext(ctx, `SELECT id, windows FROM seq_log ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("window log: %w", err)
	}
	defer rows.Close()
	out := make(map[string]devices.SeqWindow)
	for rows.Next() {
		var (
			id   int64
			blob []byte
		)
		if err := rows.Scan(&id, &blob); err != nil {
			return nil, fmt.Errorf("window log: %w", err)
		}
		if err := decodeWindows(blob, out); err != nil {
			return nil, fmt.Errorf("window log record %d: %w", id, err)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("window log: %w", err)
	}
	return out, nil
}

// encodeWindows is a log blob: a version byte, then per window the ID
// (uvarint length and bytes), Max (uvarint), MaxTS (varint) and the bits
// (little-endian words), in no particular order: a blob holds each device
// once, and reading it back (decodeWindows) fills a map. (Sorting the IDs
// of every commit's ~600 windows had cost 2 % of a busy hub's CPU.)
func encodeWindows(windows map[string]devices.SeqWindow) []byte {
	size := 1
	for id := range windows {
		size += len(id) + 2*binary.MaxVarintLen64 + 1 + windowBytes
	}
	b := make([]byte, 1, size)
	b[0] = windowLogVersion
	for id, w := range windows {
		b = binary.AppendUvarint(b, uint64(len(id)))
		b = append(b, id...)
		b = binary.AppendUvarint(b, w.Max)
		b = binary.AppendVarint(b, w.MaxTS)
		for _, word := range w.Bits {
			b = binary.LittleEndian.AppendUint64(b, word)
		}
	}
	return b
}

var errBadWindowLog = errors.New("malformed window log blob")

// decodeWindows adds the windows of one log blob to into, replacing older
// ones.
func decodeWindows(b []byte, into map[string]devices.SeqWindow) error {
	if len(b) == 0 || b[0] != windowLogVersion {
		return fmt.Errorf("%w: unknown version", errBadWindowLog)
	}
	b = b[1:]
	for len(b) > 0 {
		n, k := binary.Uvarint(b)
		if k <= 0 || n == 0 || n > uint64(len(b)-k) {
			return fmt.Errorf("%w: bad device id length", errBadWindowLog)
		}
		id := string(b[k : k+int(n)])
		b = b[k+int(n):]
		var w devices.SeqWindow
		if w.Max, k = binary.Uvarint(b); k <= 0 {
			return fmt.Errorf("%w: bad max seq of %q", errBadWindowLog, id)
		}
		b = b[k:]
		if w.MaxTS, k = binary.Varint(b); k <= 0 {
			return fmt.Errorf("%w: bad max ts of %q", errBadWindowLog, id)
		}
		b = b[k:]
		if len(b) < windowBytes {
			return fmt.Errorf("%w: window of %q cut short", errBadWindowLog, id)
		}
		for i := range w.Bits {
			w.Bits[i] = binary.LittleEndian.Uint64(b[i*8:])
		}
		b = b[windowBytes:]
		into[id] = w
	}
	return nil
}
