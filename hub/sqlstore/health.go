package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/shouwang-hub/shouwang"
	"github.com/shouwang-hub/shouwang/devices"
)

// last_seen only moves forward; COALESCE keeps a column whose update is NULL.
const updateHealth = `UPDATE devices SET
	last_seen = CASE WHEN last_seen IS NULL OR last_seen < ? THEN ? ELSE last_seen END,
	online = COALESCE(?, online),
	battery = COALESCE(?, battery),
	signal_dbm = COALESCE(?, signal_dbm)
	WHERE id = ?`

// UpdateHealth applies updates in one transaction. Nil pointers and a zero
// LastSeen leave the stored value as it was, and LastSeen never moves a
// device's last_seen back. Updates for IDs that are not registered (a device
// deleted meanwhile) are skipped.
func (s *Store) UpdateHealth(ctx context.Context, updates []devices.HealthUpdate) error {
	if len(updates) == 0 {
		return nil
	}
	if err := s.Tx(ctx, func(tx *Tx) error { return tx.updateHealth(ctx, updates) }); err != nil {
		return fmt.Errorf("update health: %w", err)
	}
	return nil
}

// updateHealthPostgres is updateHealth for a whole batch in one statement
// (one round trip, where a row at a time would hold the writer lock for as
// many): the batch arrives as five arrays, one element per device.
const updateHealthPostgres = `UPDATE devices AS d SET
	last_seen = CASE WHEN d.last_seen IS NULL OR d.last_seen < v.seen THEN v.seen ELSE d.last_seen END,
	online = COALESCE(v.online, d.online),
	battery = COALESCE(v.battery, d.battery),
	signal_dbm = COALESCE(v.sig, d.signal_dbm)
	FROM unnest($1::text[], $2::bigint[], $3::boolean[], $4::float8[], $5::float8[]) AS v(id, seen, online, battery, sig)
	WHERE d.id = v.id`

// updateHealth applies updates in tx.
func (tx *Tx) updateHealth(ctx context.Context, updates []devices.HealthUpdate) error {
	if len(updates) == 0 {
		return nil
	}
	if tx.s.dialect == dialectPostgres {
		return tx.updateHealthBatch(ctx, mergeHealth(updates))
	}
	st, err := tx.s.dialect.prepare(ctx, tx.tx.Tx, updateHealth)
	if err != nil {
		return err
	}
	defer st.Close()
	for _, u := range updates {
		seen := millis(u.LastSeen)
		if _, err := st.ExecContext(ctx, seen, seen, nullBool(u.Online), nullFloat(u.Battery), nullFloat(u.Signal), u.ID); err != nil {
			return fmt.Errorf("device %q: %w", u.ID, err)
		}
	}
	return nil
}

// updateHealthBatch writes merged updates (one per device) in one
// statement.
func (tx *Tx) updateHealthBatch(ctx context.Context, updates []devices.HealthUpdate) error {
	n := len(updates)
	ids, seen := make([]string, n), make([]*int64, n)
	online, battery, signal := make([]*bool, n), make([]*float64, n), make([]*float64, n)
	for i, u := range updates {
		ids[i], online[i], battery[i], signal[i] = u.ID, u.Online, u.Battery, u.Signal
		if !u.LastSeen.IsZero() {
			ms := u.LastSeen.UnixMilli()
			seen[i] = &ms
		}
	}
	if _, err := tx.tx.ExecContext(ctx, updateHealthPostgres, ids, seen, online, battery, signal); err != nil {
		return fmt.Errorf("%d devices: %w", n, err)
	}
	return nil
}

// mergeHealth folds a batch into one update per device, in first-seen
// order, with the meaning of applying them one after another: a later
// non-nil value wins, and LastSeen is the latest given (the statement then
// never moves it back).
func mergeHealth(updates []devices.HealthUpdate) []devices.HealthUpdate {
	at := make(map[string]int, len(updates))
	out := make([]devices.HealthUpdate, 0, len(updates))
	for _, u := range updates {
		i, ok := at[u.ID]
		if !ok {
			at[u.ID] = len(out)
			out = append(out, u)
			continue
		}
		m := &out[i]
		if u.LastSeen.After(m.LastSeen) {
			m.LastSeen = u.LastSeen
		}
		if u.Online != nil {
			m.Online = u.Online
		}
		if u.Battery != nil {
			m.Battery = u.Battery
		}
		if u.Signal != nil {
			m.Signal = u.Signal
		}
	}
	return out
}

func nullBool(b *bool) sql.NullBool {
	if b == nil {
		return sql.NullBool{}
	}
	return sql.NullBool{Bool: *b, Valid: true}
}

func nullFloat(f *float64) sql.NullFloat64 {
	if f == nil {
		return sql.NullFloat64{}
	}
	return sql.NullFloat64{Float64: *f, Valid: true}
}

// Bounds on the unregistered list, which strangers can make grow: at most
// maxUnregistered IDs are kept (the most recently seen), and IDs and details
// are clipped.
const (
	maxUnregistered        = 1000
	pruneUnregisteredEvery = 64
)

const upsertUnregistered = `INSERT INTO unregistered (id, first_seen, last_seen, seen_count, detail)
	VALUES (?, ?, ?, 1, ?)
	ON CONFLICT (id) DO UPDATE SET
	first_seen = CASE WHEN excluded.first_seen < unregistered.first_seen THEN excluded.first_seen ELSE unregistered.first_seen END,
	last_seen = CASE WHEN excluded.last_seen > unregistered.last_seen THEN excluded.last_seen ELSE unregistered.last_seen END,
	detail = CASE WHEN excluded.last_seen >= unregistered.last_seen THEN excluded.detail ELSE unregistered.detail END,
	seen_count = unregistered.seen_count + 1`

// pruneUnregistered drops all but the maxUnregistered most recently seen.
// With fewer rows the subquery is NULL and nothing matches.
const pruneUnregistered = `DELETE FROM unregistered WHERE last_seen <
	(SELECT last_seen FROM unregistered ORDER BY last_seen DESC LIMIT 1 OFFSET ?)`

// RecordUnregistered notes that an unregistered device ID tried to connect
// or publish: the first time it inserts the ID, after that it counts it and
// keeps the latest time and detail. A zero at means now.
func (s *Store) RecordUnregistered(ctx context.Context, id, detail string, at time.Time) error {
	if id == "" {
		return shouwang.Errorf(shouwang.EINVALID, "unregistered device: empty id")
	}
	if at.IsZero() {
		at = s.now()
	}
	id, detail = devices.ClipText(id, devices.MaxUnregisteredID), devices.ClipText(detail, devices.MaxUnregisteredDetail)
	ms := at.UnixMilli()
	prune := s.unregisteredCalls.Add(1)%pruneUnregisteredEvery == 0
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, s.q(upsertUnregistered), id, ms, ms, detail); err != nil {
			return err
		}
		if prune {
			_, err := tx.ExecContext(ctx, s.q(pruneUnregistered), maxUnregistered-1)
			return err
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("record unregistered: %w", err)
	}
	return nil
}

// ListUnregistered returns the IDs seen but not registered, most recently
// seen first, at most maxUnregistered of them.
func (s *Store) ListUnregistered(ctx context.Context) ([]devices.Unregistered, error) {
	rows, err := s.db.r.QueryContext(ctx, s.q(`SELECT id, first_seen, last_seen, seen_count, detail
		FROM unregistered u
		WHERE NOT EXISTS (SELECT 1 FROM devices d WHERE d.id = u.id)
		ORDER BY last_seen DESC, id LIMIT ?`), maxUnregistered)
	if err != nil {
		return nil, fmt.Errorf("list unregistered: %w", err)
	}
	defer rows.Close()
	var list []devices.Unregistered
	for rows.Next() {
		var (
			u           devices.Unregistered
			first, last sql.NullInt64
		)
		if err := rows.Scan(&u.ID, &first, &last, &u.Count, &u.Detail); err != nil {
			return nil, fmt.Errorf("list unregistered: %w", err)
		}
		u.FirstSeen, u.LastSeen = fromMillis(first), fromMillis(last)
		list = append(list, u)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list unregistered: %w", err)
	}
	return list, nil
}
