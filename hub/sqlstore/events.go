package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"time"

	"github.com/shouwang-hub/shouwang"
	"github.com/shouwang-hub/shouwang/devices"
)

// StoredEvent is one event as the events table keeps it.
type StoredEvent struct {
	ID       int64             `json:"id"`
	DeviceID string            `json:"device_id"`
	Seq      uint64            `json:"seq"`
	TS       time.Time         `json:"ts"`
	Received time.Time         `json:"received"`
	TSFlag   devices.TSFlag    `json:"ts_flag,omitempty"`
	Type     devices.EventType `json:"type"`
	Test     bool              `json:"test,omitempty"`
	LEL      *float64          `json:"lel,omitempty"`
}

// Time is the moment the event is placed at, as devices.Message.Time does:
// the device's timestamp unless it was flagged, else the receive time.
func (e *StoredEvent) Time() time.Time {
	if e.TSFlag != devices.TSOK || e.TS.IsZero() {
		return e.Received
	}
	return e.TS
}

const insertEvent = `INSERT INTO events (device_id, seq, ts, received, ts_flag, type, test, lel, instance)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
	ON CONFLICT (device_id, seq, ts) DO NOTHING`

// RecordEvents stores event messages in one transaction, de-duplicated by
// (device, seq, ts): inserted[i] reports whether msgs[i] was new. A repeat
// of a message (same seq and ts) is not inserted; the same seq with another
// ts (a device whose counter restarted) is. Every message must be an event.
func (s *Store) RecordEvents(ctx context.Context, msgs []*devices.Message) ([]bool, error) {
	if err := validateEvents(msgs); err != nil {
		return nil, err
	}
	if len(msgs) == 0 {
		return []bool{}, nil
	}
	var inserted []bool
	err := s.Tx(ctx, func(tx *Tx) error {
		var err error
		inserted, err = tx.recordEvents(ctx, msgs)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("record events: %w", err)
	}
	return inserted, nil
}

// validateEvents checks that every message is an event whose seq fits the
// store's BIGINT.
func validateEvents(msgs []*devices.Message) error {
	for i, m := range msgs {
		if m == nil || m.Channel != devices.ChannelEvent || m.Event == nil {
			return shouwang.Errorf(shouwang.EINVALID, "record events: message %d is not an event", i)
		}
		if m.Seq > math.MaxInt64 {
			return shouwang.Errorf(shouwang.EINVALID, "record events: message %d: seq %d out of range", i, m.Seq)
		}
	}
	return nil
}

// recordEvents inserts validated event messages in tx.
func (tx *Tx) recordEvents(ctx context.Context, msgs []*devices.Message) ([]bool, error) {
	inserted := make([]bool, len(msgs))
	if len(msgs) == 0 {
		return inserted, nil
	}
	if tx.s.dialect == dialectPostgres {
		return inserted, tx.recordEventsBatch(ctx, msgs, inserted)
	}
	st, err := tx.s.dialect.prepare(ctx, tx.tx.Tx, insertEvent)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	for i, m := range msgs {
		res, err := st.ExecContext(ctx, m.DeviceID, int64(m.Seq), unixMillis(m.TS), unixMillis(m.Received),
			string(m.TSFlag), string(m.Event.Type), m.Event.Test, nullFloat(m.Event.LEL), tx.s.instance)
		if err != nil {
			return nil, fmt.Errorf("event %s/%d: %w", m.DeviceID, m.Seq, err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return nil, err
		}
		inserted[i] = n > 0
	}
	return inserted, nil
}

// insertEventsPostgres stores a batch in one statement (one round trip
// under the writer lock, where a row at a time would take as many) and
// names the rows it inserted.
const insertEventsPostgres = `INSERT INTO events (device_id, seq, ts, received, ts_flag, type, test, lel, instance)
	SELECT *, $9::text FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::bigint[], $5::text[], $6::text[], $7::boolean[], $8::float8[])
	ON CONFLICT (device_id, seq, ts) DO NOTHING
	RETURNING device_id, seq, ts`

// recordEventsBatch is recordEvents on PostgreSQL. A message repeated
// within the batch is inserted once, the first time, as one row at a time
// would.
func (tx *Tx) recordEventsBatch(ctx context.Context, msgs []*devices.Message, inserted []bool) error {
	n := len(msgs)
	var (
		ids          = make([]string, n)
		seqs, ts, rc = make([]int64, n), make([]int64, n), make([]int64, n)
		flags, types = make([]string, n), make([]string, n)
		tests        = make([]bool, n)
		lels         = make([]*float64, n)
	)
	for i, m := range msgs {
		ids[i], seqs[i], ts[i], rc[i] = m.DeviceID, int64(m.Seq), unixMillis(m.TS), unixMillis(m.Received)
		flags[i], types[i], tests[i], lels[i] = string(m.TSFlag), string(m.Event.Type), m.Event.Test, m.Event.LEL
	}
	rows, err := tx.tx.QueryContext(ctx, insertEventsPostgres, ids, seqs, ts, rc, flags, types, tests, lels, tx.s.instance)
	if err != nil {
		return fmt.Errorf("%d events: %w", n, err)
	}
	defer rows.Close()
	type key struct {
		id      string
		seq, ts int64
	}
	stored := make(map[key]bool, n)
	for rows.Next() {
		var k key
		if err := rows.Scan(&k.id, &k.seq, &k.ts); err != nil {
			return err
		}
		stored[k] = true
	}
	if err := rows.Err(); err != nil {
		return err
	}
	for i := range msgs {
		if k := (key{ids[i], seqs[i], ts[i]}); stored[k] {
			inserted[i] = true
			delete(stored, k) // a repeat later in the batch was not
		}
	}
	return nil
}

// unixMillis is t in Unix milliseconds, 0 for the zero time, for NOT NULL
// columns.
func unixMillis(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

// ListEvents returns a device's events newest first (by device timestamp),
// or every device's when deviceID is empty. limit 0 means
// DefaultListLimit; larger limits are cut to MaxListLimit.
func (s *Store) ListEvents(ctx context.Context, deviceID string, limit int) ([]StoredEvent, error) {
	limit, err := pageLimit(0, limit)
	if err != nil {
		return nil, err
	}
	query, args := `SELECT id, device_id, seq, ts, received, ts_flag, type, test, lel FROM events`, []any{}
	if deviceID != "" {
		query += ` WHERE device_id = ?`
		args = append(args, deviceID)
	}
	rows, err := s.db.r.QueryContext(ctx, s.q(query+` ORDER BY ts DESC, id DESC LIMIT ?`), append(args, limit)...)
	if err != nil {
		return nil, fmt.Errorf("list events: %w", err)
	}
	defer rows.Close()
	var list []StoredEvent
	for rows.Next() {
		var (
			e             StoredEvent
			seq, ts, recv int64
			flag, typ     string
			lel           sql.NullFloat64
		)
		if err := rows.Scan(&e.ID, &e.DeviceID, &seq, &ts, &recv, &flag, &typ, &e.Test, &lel); err != nil {
			return nil, fmt.Errorf("list events: %w", err)
		}
		e.Seq, e.TSFlag, e.Type = uint64(seq), devices.TSFlag(flag), devices.EventType(typ)
		e.TS, e.Received = zeroOrMillis(ts), zeroOrMillis(recv)
		if lel.Valid {
			e.LEL = &lel.Float64
		}
		list = append(list, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list events: %w", err)
	}
	return list, nil
}

func zeroOrMillis(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}
