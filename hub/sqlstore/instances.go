package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/shouwang-hub/shouwang"
)

// Several hub instances on one database (docs/architecture.md, "Several
// instances"): each instance's heartbeat, leases on singleton work with a
// fencing epoch, and which instance took each call. Times here are the
// database's clock, not the instance's: instances on several machines
// compare expiries against one clock.

// Instance is one hub process sharing the store, as its heartbeat row
// says.
type Instance struct {
	Name      string
	URL       string // where the other instances reach its HTTP API
	StartedAt time.Time
	Heartbeat time.Time
	Stopped   bool     // it shut down cleanly
	Leases    []string // the leases it holds now
}

// Lease is a lease as held: its name, its holder and the epoch it was
// granted at. The epoch grows by one every time the lease changes hands,
// so work done under an older epoch can be refused (fencing).
type Lease struct {
	Name   string
	Holder string
	Epoch  int64
}

// dbNowMillis is the database's clock in Unix milliseconds.
func (d dialect) nowMillis() string {
	if d == dialectPostgres {
		return `(EXTRACT(EPOCH FROM clock_timestamp()) * 1000)::BIGINT`
	}
	return `CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)`
}

// SetInstance names the instance this store belongs to; the events it
// stores carry the name, so an instance that finds an event stored by
// another knows the other acted on it. Call it before use.
func (s *Store) SetInstance(name string) { s.instance = name }

// Heartbeat records that instance name is alive now, reachable at url.
func (s *Store) Heartbeat(ctx context.Context, name, url string, startedAt time.Time) error {
	now := s.dialect.nowMillis()
	_, err := s.ctl().ExecContext(ctx, s.q(`INSERT INTO hub_instances (name, started_at, heartbeat, url, stopped_at)
		VALUES (?, ?, `+now+`, ?, NULL)
		ON CONFLICT (name) DO UPDATE SET started_at = excluded.started_at, heartbeat = excluded.heartbeat,
			url = excluded.url, stopped_at = NULL`), name, startedAt.UnixMilli(), url)
	if err != nil {
		return fmt.Errorf("heartbeat of %s: %w", name, err)
	}
	return nil
}

// StopInstance records a clean shutdown of name and gives up every lease
// it holds, so the others take them at once rather than after they expire.
func (s *Store) StopInstance(ctx context.Context, name string) error {
	now := s.dialect.nowMillis()
	if _, err := s.ctl().ExecContext(ctx, s.q(`UPDATE hub_leases SET expires = 0 WHERE holder = ?`), name); err != nil {
		return fmt.Errorf("release the leases of %s: %w", name, err)
	}
	if _, err := s.ctl().ExecContext(ctx, s.q(`UPDATE hub_instances SET stopped_at = `+now+` WHERE name = ?`), name); err != nil {
		return fmt.Errorf("stop %s: %w", name, err)
	}
	return nil
}

// Instances lists every instance that ever ran, by name, with the leases
// each holds, and the database's clock now (to judge heartbeats by).
func (s *Store) Instances(ctx context.Context) ([]Instance, time.Time, error) {
	now := s.dialect.nowMillis()
	rows, err := s.ctl().QueryContext(ctx, `SELECT i.name, i.url, i.started_at, i.heartbeat, i.stopped_at,
		COALESCE(l.name, ''), `+now+`
		FROM hub_instances i LEFT JOIN hub_leases l ON l.holder = i.name AND l.expires > `+now+`
		ORDER BY i.name, l.name`)
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("instances: %w", err)
	}
	defer rows.Close()
	var (
		out   []Instance
		clock int64
	)
	for rows.Next() {
		var (
			in            Instance
			started, beat int64
			stopped       sql.NullInt64
			lease         string
		)
		if err := rows.Scan(&in.Name, &in.URL, &started, &beat, &stopped, &lease, &clock); err != nil {
			return nil, time.Time{}, fmt.Errorf("instances: %w", err)
		}
		if n := len(out); n == 0 || out[n-1].Name != in.Name {
			in.StartedAt, in.Heartbeat, in.Stopped = zeroOrMillis(started), zeroOrMillis(beat), stopped.Valid
			out = append(out, in)
		}
		if lease != "" {
			last := &out[len(out)-1]
			last.Leases = append(last.Leases, lease)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, time.Time{}, fmt.Errorf("instances: %w", err)
	}
	return out, zeroOrMillis(clock), nil
}

// AcquireLease takes lease name for holder for ttl, or renews it if holder
// has it. It reports the epoch and true when holder holds the lease now;
// false when another holder's lease has not expired. The epoch grows when
// the lease passes to a new holder or is taken again after it lapsed.
func (s *Store) AcquireLease(ctx context.Context, name, holder string, ttl time.Duration) (Lease, bool, error) {
	if name == "" || holder == "" || ttl <= 0 {
		return Lease{}, false, shouwang.Errorf(shouwang.EINVALID, "acquire lease: needs a name, a holder and a positive ttl")
	}
	now := s.dialect.nowMillis()
	var epoch int64
	err := s.ctl().QueryRowContext(ctx, s.q(`INSERT INTO hub_leases (name, holder, epoch, expires)
		VALUES (?, ?, 1, `+now+` + ?)
		ON CONFLICT (name) DO UPDATE SET
			epoch = CASE WHEN hub_leases.holder = excluded.holder AND hub_leases.expires > `+now+`
				THEN hub_leases.epoch ELSE hub_leases.epoch + 1 END,
			holder = excluded.holder, expires = excluded.expires
		WHERE hub_leases.holder = excluded.holder OR hub_leases.expires <= `+now+`
		RETURNING epoch`), name, holder, ttl.Milliseconds()).Scan(&epoch)
	if errors.Is(err, sql.ErrNoRows) {
		return Lease{}, false, nil
	} else if err != nil {
		return Lease{}, false, fmt.Errorf("acquire lease %s: %w", name, err)
	}
	return Lease{Name: name, Holder: holder, Epoch: epoch}, true, nil
}

// ReleaseLease gives up l if it is still held at its epoch.
func (s *Store) ReleaseLease(ctx context.Context, l Lease) error {
	_, err := s.ctl().ExecContext(ctx, s.q(`UPDATE hub_leases SET expires = 0 WHERE name = ? AND holder = ? AND epoch = ?`),
		l.Name, l.Holder, l.Epoch)
	if err != nil {
		return fmt.Errorf("release lease %s: %w", l.Name, err)
	}
	return nil
}

// HoldsLease reports, inside the transaction, whether l is still held at
// its epoch and unexpired: the fencing check of work done under a lease.
// On PostgreSQL the lease's row stays share-locked until the transaction
// ends, so it cannot change hands before this work commits.
func (tx *Tx) HoldsLease(ctx context.Context, l Lease) (bool, error) {
	q := `SELECT 1 FROM hub_leases WHERE name = ? AND holder = ? AND epoch = ? AND expires > ` + tx.s.dialect.nowMillis()
	if tx.s.dialect == dialectPostgres {
		q += ` FOR SHARE`
	}
	var one int
	err := tx.tx.QueryRowContext(ctx, tx.q(q), l.Name, l.Holder, l.Epoch).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	} else if err != nil {
		return false, fmt.Errorf("check lease %s: %w", l.Name, err)
	}
	return true, nil
}

// ClaimCall records that instance takes call callID of deviceID and
// returns the instance that holds it: instance itself if its claim won,
// or the one that claimed it first.
func (s *Store) ClaimCall(ctx context.Context, callID, deviceID, instance string) (string, error) {
	now := s.dialect.nowMillis()
	if _, err := s.ctl().ExecContext(ctx, s.q(`INSERT INTO hub_calls (call_id, instance, device_id, started_at)
		VALUES (?, ?, ?, `+now+`) ON CONFLICT (call_id) DO NOTHING`), callID, instance, deviceID); err != nil {
		return "", fmt.Errorf("claim call %s: %w", callID, err)
	}
	owner, _, err := s.CallOwner(ctx, callID)
	return owner, err
}

// CallOwner returns the instance that took call callID and its URL;
// ENOTFOUND if none did.
func (s *Store) CallOwner(ctx context.Context, callID string) (instance, url string, err error) {
	err = s.ctl().QueryRowContext(ctx, s.q(`SELECT c.instance, COALESCE(i.url, '') FROM hub_calls c
		LEFT JOIN hub_instances i ON i.name = c.instance WHERE c.call_id = ?`), callID).Scan(&instance, &url)
	if errors.Is(err, sql.ErrNoRows) {
		return "", "", shouwang.Errorf(shouwang.ENOTFOUND, "call %q not found", callID)
	} else if err != nil {
		return "", "", fmt.Errorf("call owner %s: %w", callID, err)
	}
	return instance, url, nil
}

// PruneCalls forgets the call claims older than before.
func (s *Store) PruneCalls(ctx context.Context, before time.Time) error {
	if _, err := s.ctl().ExecContext(ctx, s.q(`DELETE FROM hub_calls WHERE started_at < ?`), before.UnixMilli()); err != nil {
		return fmt.Errorf("prune calls: %w", err)
	}
	return nil
}

// EventInstance returns, inside the transaction, the instance that stored
// the event (deviceID, seq, tsMillis): "" for one stored before instances
// existed or by a hub without -instance.
func (tx *Tx) EventInstance(ctx context.Context, deviceID string, seq uint64, tsMillis int64) (string, error) {
	var inst string
	err := tx.tx.QueryRowContext(ctx, tx.q(`SELECT instance FROM events WHERE device_id = ? AND seq = ? AND ts = ?`),
		deviceID, int64(seq), tsMillis).Scan(&inst)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("event %s/%d: %w", deviceID, seq, err)
	}
	return inst, nil
}

// Doorbell channels: a NOTIFY on one rings every instance listening; the
// tables are the copy, so a missed ring costs only latency.
const (
	ChannelFeed    = "shouwang_feed"    // alert changes committed
	ChannelDevices = "shouwang_devices" // a device registered, changed or removed (payload: its ID, "" for all)
	ChannelLeases  = "shouwang_leases"  // a lease was given up
)

// Notify rings channel with payload (under 8000 bytes) on PostgreSQL; on
// SQLite there is nobody else to tell and it does nothing.
func (s *Store) Notify(ctx context.Context, channel, payload string) error {
	if s.dialect != dialectPostgres {
		return nil
	}
	if len(payload) >= 8000 {
		return shouwang.Errorf(shouwang.EINVALID, "notify %s: payload of %d bytes", channel, len(payload))
	}
	if _, err := s.ctl().ExecContext(ctx, `SELECT pg_notify($1, $2)`, channel, payload); err != nil {
		return fmt.Errorf("notify %s: %w", channel, err)
	}
	return nil
}

// notifyFeed rings ChannelFeed from inside the transaction that appended
// changes: PostgreSQL delivers it at commit, and only if the transaction
// commits.
func (tx *Tx) notifyFeed(ctx context.Context) error {
	if tx.s.dialect != dialectPostgres || !tx.changed {
		return nil
	}
	_, err := tx.tx.ExecContext(ctx, `SELECT pg_notify($1, '')`, ChannelFeed)
	return err
}

// ctl is the pool for the instances' bookkeeping — heartbeats, leases,
// call claims, doorbells — which must not queue behind the writers waiting
// for the writer lock: a lease renewal stuck there would lapse. It does
// not take the writer lock; each statement is atomic on its own rows.
func (s *Store) ctl() *sql.DB {
	if s.db.ctl != nil {
		return s.db.ctl
	}
	return s.db.w
}

// NewerCondition returns, inside the transaction, the type of the
// device's newest stored event of one of types that is newer than (ts,
// seq) — by the device's clock, then its counter — or "" if none is. With
// several instances a device's alarm and its clear may be committed by
// different instances in either order; the older one, committed last, must
// not undo the newer.
func (tx *Tx) NewerCondition(ctx context.Context, deviceID string, types []string, ts int64, seq uint64) (string, error) {
	if len(types) == 0 {
		return "", nil
	}
	args := []any{deviceID}
	for _, t := range types {
		args = append(args, t)
	}
	args = append(args, ts, ts, int64(seq))
	var typ string
	err := tx.tx.QueryRowContext(ctx, tx.q(`SELECT type FROM events WHERE device_id = ? AND type IN (?`+
		strings.Repeat(", ?", len(types)-1)+`) AND (ts > ? OR (ts = ? AND seq > ?)) ORDER BY ts DESC, seq DESC LIMIT 1`), args...).Scan(&typ)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	} else if err != nil {
		return "", fmt.Errorf("newer events of %s: %w", deviceID, err)
	}
	return typ, nil
}
