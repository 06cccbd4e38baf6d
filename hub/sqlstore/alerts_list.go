package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/shouwang-hub/shouwang/alerts"
)

// alertOrder puts the most urgent first: open before the rest, then by
// severity (critical first), then the oldest; id breaks ties.
var alertOrder = fmt.Sprintf(` ORDER BY CASE WHEN %s THEN 0 ELSE 1 END,
	CASE severity WHEN '%s' THEN %d WHEN '%s' THEN %d WHEN '%s' THEN %d ELSE 0 END DESC,
	opened_at, id`, openStates,
	alerts.SeverityCritical, alerts.SeverityCritical.Rank(),
	alerts.SeverityMajor, alerts.SeverityMajor.Rank(),
	alerts.SeverityMinor, alerts.SeverityMinor.Rank())

// ListAlerts implements alerts.Store: one page of the alerts matching f,
// most urgent first, without timelines, and the number of all matching
// alerts. Limit 0 means DefaultListLimit; larger limits are cut to
// MaxListLimit.
func (s *Store) ListAlerts(ctx context.Context, f alerts.Filter) ([]*alerts.Alert, int, error) {
	limit, err := pageLimit(f.Offset, f.Limit)
	if err != nil {
		return nil, 0, err
	}
	where, args := alertWhere(f)
	var (
		total int
		list  []*alerts.Alert
	)
	err = s.readTx(ctx, func(tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM alerts`+where), args...).Scan(&total); err != nil {
			return err
		}
		if total <= f.Offset {
			return nil
		}
		var err error
		list, err = s.queryAlerts(ctx, tx, `SELECT `+alertCols+` FROM alerts`+where+alertOrder+` LIMIT ? OFFSET ?`,
			append(args, limit, f.Offset)...)
		return err
	})
	if err != nil {
		return nil, 0, fmt.Errorf("list alerts: %w", err)
	}
	return list, total, nil
}

// alertWhere turns a filter into a WHERE clause (with a leading space, or
// empty) and its arguments.
func alertWhere(f alerts.Filter) (string, []any) {
	var w where
	if len(f.States) > 0 {
		states := make([]any, len(f.States))
		for i, st := range f.States {
			states[i] = string(st)
		}
		w.add("state IN (?"+strings.Repeat(", ?", len(f.States)-1)+")", states...)
	}
	w.eq("severity", string(f.Severity))
	w.eq("kind", string(f.Kind))
	w.eq("community", f.Community)
	w.eq("device_id", f.DeviceID)
	if f.Test != nil {
		w.add("test = ?", *f.Test)
	}
	if !f.From.IsZero() {
		w.add("opened_at >= ?", f.From.UnixMilli())
	}
	if !f.To.IsZero() {
		w.add("opened_at < ?", f.To.UnixMilli())
	}
	scopeWhere(&w, f)
	return w.clause()
}

// OpenAlertsAll implements alerts.Store: every open alert, oldest first,
// without timelines.
func (s *Store) OpenAlertsAll(ctx context.Context) ([]*alerts.Alert, error) {
	list, err := s.queryAlerts(ctx, s.db.r, `SELECT `+alertCols+` FROM alerts WHERE `+openStates+` ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("open alerts: %w", err)
	}
	return list, nil
}

// AnswerStats implements alerts.Store: the answer-time figures over the
// alerts opened in [from, to), tests excluded. Durations run from the
// opening of the alert to its acceptance, dispatch and resolution; a
// median over an even count is the mean of the middle two, and zero when
// nothing was measured.
func (s *Store) AnswerStats(ctx context.Context, from, to time.Time) (alerts.AnswerStats, error) {
	st := alerts.AnswerStats{From: from, To: to}
	rows, err := s.db.r.QueryContext(ctx, s.q(`SELECT opened_at, accepted_at, dispatched_at, resolved_at
		FROM alerts WHERE test = ? AND opened_at >= ? AND opened_at < ?`), false, from.UnixMilli(), to.UnixMilli())
	if err != nil {
		return st, fmt.Errorf("answer stats: %w", err)
	}
	defer rows.Close()
	var accept, dispatch, resolve []time.Duration
	since := func(opened int64, at sql.NullInt64) time.Duration {
		return time.Duration(at.Int64-opened) * time.Millisecond
	}
	for rows.Next() {
		var (
			opened                         int64
			accepted, dispatched, resolved sql.NullInt64
		)
		if err := rows.Scan(&opened, &accepted, &dispatched, &resolved); err != nil {
			return st, fmt.Errorf("answer stats: %w", err)
		}
		st.Alerts++
		if accepted.Valid {
			d := since(opened, accepted)
			accept = append(accept, d)
			st.Accepted++
			if d <= 60*time.Second {
				st.Within60s++
			}
			if d <= 180*time.Second {
				st.Within180s++
			}
		}
		if dispatched.Valid {
			dispatch = append(dispatch, since(opened, dispatched))
		}
		if resolved.Valid {
			resolve = append(resolve, since(opened, resolved))
		}
	}
	if err := rows.Err(); err != nil {
		return st, fmt.Errorf("answer stats: %w", err)
	}
	st.Dispatched, st.Resolved = len(dispatch), len(resolve)
	st.MedianAccept, st.MedianDispatch, st.MedianResolve = median(accept), median(dispatch), median(resolve)
	return st, nil
}

// median sorts ds and returns its median: the middle value, or the mean of
// the middle two; zero for none.
func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	slices.Sort(ds)
	m := len(ds) / 2
	if len(ds)%2 == 1 {
		return ds[m]
	}
	return ds[m-1] + (ds[m]-ds[m-1])/2
}

// UnclearedLatest returns, for each device that has an alert of kind, its
// latest one (by opened time, then ID) if that alert is not cleared,
// ordered by device ID, without timelines. The hub rebuilds its low-battery
// latch from it at start.
func (s *Store) UnclearedLatest(ctx context.Context, kind alerts.Kind) ([]*alerts.Alert, error) {
	list, err := s.queryAlerts(ctx, s.db.r, `SELECT `+alertCols+` FROM alerts a
		WHERE kind = ? AND cleared = ? AND NOT EXISTS (SELECT 1 FROM alerts b
			WHERE b.device_id = a.device_id AND b.kind = a.kind
			AND (b.opened_at > a.opened_at OR (b.opened_at = a.opened_at AND b.id > a.id)))
		ORDER BY device_id`, string(kind), false)
	if err != nil {
		return nil, fmt.Errorf("uncleared latest %s: %w", kind, err)
	}
	return list, nil
}
