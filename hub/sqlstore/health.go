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
// online changes only by an update at least as new as the one that last
// set it (online_at, the update's LastSeen): with several instances the
// same device's messages are committed by different instances in no fixed
// order, and a late "offline" must not undo a newer "online".
const updateHealth = `UPDATE devices SET
	last_seen = CASE WHEN last_seen IS NULL OR last_seen < ?1 THEN ?1 ELSE last_seen END,
	online = CASE WHEN ?2 IS NULL THEN online
		WHEN ?1 IS NULL OR online_at IS NULL OR online_at <= ?1 THEN ?2 ELSE online END,
	online_at = CASE WHEN ?2 IS NULL OR ?1 IS NULL THEN online_at
		WHEN online_at IS NULL OR online_at < ?1 THEN ?1 ELSE online_at END,
	battery = COALESCE(?3, battery),
	signal_dbm = COALESCE(?4, signal_dbm)
	WHERE id = ?5`

// UpdateHealth applies updates in one transaction. Nil pointers and a zero
// LastSeen leave the stored value as it was, and LastSeen never moves a
// device's last_seen back. Online is applied only if the update's LastSeen
// is not older than that of the update that last set it (or either has no
// time): a late status does not undo a newer one. Updates for IDs that are not registered (a device
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
	online = CASE WHEN v.online IS NULL THEN d.online
		WHEN v.online_seen IS NULL OR d.online_at IS NULL OR d.online_at <= v.online_seen THEN v.online ELSE d.online END,
	online_at = CASE WHEN v.online IS NULL OR v.online_seen IS NULL THEN d.online_at
		WHEN d.online_at IS NULL OR d.online_at < v.online_seen THEN v.online_seen ELSE d.online_at END,
	battery = COALESCE(v.battery, d.battery),
	signal_dbm = COALESCE(v.sig, d.signal_dbm)
	FROM unnest($1::text[], $2::bigint[], $3::boolean[], $4::float8[], $5::float8[], $6::bigint[]) AS v(id, seen, online, battery, sig, online_seen)
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
		if _, err := st.ExecContext(ctx, seen, nullBool(u.Online), nullFloat(u.Battery), nullFloat(u.Signal), u.ID); err != nil {
			return fmt.Errorf("device %q: %w", u.ID, err)
		}
	}
	return nil
}

// updateHealthBatch writes merged updates (one per device) in one
// statement.
func (tx *Tx) updateHealthBatch(ctx context.Context, updates []mergedHealth) error {
	n := len(updates)
	ids, seen, onlineSeen := make([]string, n), make([]*int64, n), make([]*int64, n)
	online, battery, signal := make([]*bool, n), make([]*float64, n), make([]*float64, n)
	for i, u := range updates {
		ids[i], online[i], battery[i], signal[i] = u.ID, u.Online, u.Battery, u.Signal
		seen[i], onlineSeen[i] = optMillis(u.LastSeen), optMillis(u.onlineSeen)
	}
	if _, err := tx.tx.ExecContext(ctx, updateHealthPostgres, ids, seen, online, battery, signal, onlineSeen); err != nil {
		return fmt.Errorf("%d devices: %w", n, err)
	}
	return nil
}

// optMillis is t in Unix milliseconds, nil for the zero time.
func optMillis(t time.Time) *int64 {
	if t.IsZero() {
		return nil
	}
	ms := t.UnixMilli()
	return &ms
}

// mergedHealth is one device's updates of a batch folded into one;
// onlineSeen is the time of the update whose Online it carries.
type mergedHealth struct {
	devices.HealthUpdate
	onlineSeen time.Time
}

// mergeHealth folds a batch into one update per device, in first-seen
// order, with the meaning of applying them one after another: a later
// non-nil value wins, and LastSeen is the latest given (the statement then
// never moves it back); Online keeps the time of the update that gave it.
func mergeHealth(updates []devices.HealthUpdate) []mergedHealth {
	at := make(map[string]int, len(updates))
	out := make([]mergedHealth, 0, len(updates))
	for _, u := range updates {
		i, ok := at[u.ID]
		if !ok {
			at[u.ID] = len(out)
			m := mergedHealth{HealthUpdate: u}
			if u.Online != nil {
				m.onlineSeen = u.LastSeen
			}
			out = append(out, m)
			continue
		}
		m := &out[i]
		if u.LastSeen.After(m.LastSeen) {
			m.LastSeen = u.LastSeen
		}
		if u.Online != nil {
			m.Online, m.onlineSeen = u.Online, u.LastSeen
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
