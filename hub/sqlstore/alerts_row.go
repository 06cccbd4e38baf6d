package sqlstore

import (
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/shouwang-hub/shouwang/alerts"
)

// Alerts are stored one row each, with the device snapshot and the call
// (if any) as JSON, and the snapshot's community in a column of its own
// for listings. Times are kept to the millisecond, like every time in the
// store.
//
// This file is that row's codec, kept beside the statements whose column
// order it follows: alertArgs writes a row (insertAlert, updateAlert),
// scanAlert reads one (alertCols).

// alertCols are the columns scanAlert reads, in its order.
const alertCols = `id, kind, severity, priority, state, test, device_id, device,
	opened_at, last_occurrence, occurrences, reading, cleared, cleared_at,
	escalation_level, assignee, dispatched_to, outcome,
	accepted_at, dispatched_at, resolved_at, closed_at, updated_at, version, call_ref,
	task, follow_up, review, incident_id, incident`

const insertAlert = `INSERT INTO alerts (kind, severity, priority, state, test, device_id, community, device,
	opened_at, last_occurrence, occurrences, reading, cleared, cleared_at,
	escalation_level, assignee, dispatched_to, outcome,
	accepted_at, dispatched_at, resolved_at, closed_at, updated_at, version, call_ref,
	grid, task, follow_up, followup_due, followup_done, review, incident_id, incident, scope)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
	RETURNING id`

const updateAlert = `UPDATE alerts SET kind = ?, severity = ?, priority = ?, state = ?, test = ?,
	device_id = ?, community = ?, device = ?,
	opened_at = ?, last_occurrence = ?, occurrences = ?, reading = ?, cleared = ?, cleared_at = ?,
	escalation_level = ?, assignee = ?, dispatched_to = ?, outcome = ?,
	accepted_at = ?, dispatched_at = ?, resolved_at = ?, closed_at = ?, updated_at = ?, version = ?, call_ref = ?,
	grid = ?, task = ?, follow_up = ?, followup_due = ?, followup_done = ?, review = ?,
	incident_id = ?, incident = ?, scope = ?
	WHERE id = ? AND version = ?`

// alertArgs are a's columns from kind through scope, as insertAlert and
// updateAlert take them.
func alertArgs(a *alerts.Alert) ([]any, error) {
	dev, err := json.Marshal(&a.Device)
	if err != nil {
		return nil, fmt.Errorf("encode device snapshot: %w", err)
	}
	call, err := encodeCall(a.Call)
	if err != nil {
		return nil, err
	}
	task, err := encodeJSON(storedTask(a.Task))
	if err != nil {
		return nil, fmt.Errorf("encode task: %w", err)
	}
	fu := storedFollowUp(a.FollowUp)
	followUp, err := encodeJSON(fu)
	if err != nil {
		return nil, fmt.Errorf("encode follow-up: %w", err)
	}
	review, err := encodeJSON(storedReview(a.Review))
	if err != nil {
		return nil, fmt.Errorf("encode review: %w", err)
	}
	var due, done sql.NullInt64
	if fu != nil {
		due, done = millis(fu.Due), millis(fu.DoneAt)
	}
	inc, err := encodeIncident(a.Incident)
	if err != nil {
		return nil, err
	}
	return []any{string(a.Kind), string(a.Severity), a.Priority, string(a.State), a.Test,
		a.DeviceID, a.Device.Location.Community, string(dev),
		unixMillis(a.OpenedAt), millis(a.LastOccurrence), a.Occurrences, nullFloat(a.Reading), a.Cleared, millis(a.ClearedAt),
		a.EscalationLevel, a.Assignee, a.DispatchedTo, string(a.Outcome),
		millis(a.AcceptedAt), millis(a.DispatchedAt), millis(a.ResolvedAt), millis(a.ClosedAt), millis(a.UpdatedAt),
		a.Version, call, a.Device.Location.Grid, task, followUp, due, done, review, nullID(a.IncidentID), inc, alerts.ScopeOf(a)}, nil
}

// encodeJSON is a JSON column: v as JSON, or ” for a nil pointer.
func encodeJSON[T any](v *T) (string, error) {
	if v == nil {
		return "", nil
	}
	b, err := json.Marshal(v)
	return string(b), err
}

// decodeJSON reads a JSON column written by encodeJSON.
func decodeJSON[T any](s string, dst **T) error {
	if s == "" {
		*dst = nil
		return nil
	}
	return json.Unmarshal([]byte(s), dst)
}

// ms cuts t to the millisecond in UTC, as the store keeps every time.
func ms(t time.Time) time.Time { return fromMillis(millis(t)) }

func storedTask(t *alerts.Task) *alerts.Task {
	if t == nil {
		return nil
	}
	v := *t
	v.SentAt, v.TakenAt, v.ArrivedAt, v.HandledAt = ms(v.SentAt), ms(v.TakenAt), ms(v.ArrivedAt), ms(v.HandledAt)
	v.Workers = slices.Clone(t.Workers)
	return &v
}

func storedFollowUp(f *alerts.FollowUp) *alerts.FollowUp {
	if f == nil {
		return nil
	}
	v := *f
	v.Due, v.DoneAt = ms(v.Due), ms(v.DoneAt)
	return &v
}

func storedReview(r *alerts.Review) *alerts.Review {
	if r == nil {
		return nil
	}
	v := *r
	v.At = ms(v.At)
	return &v
}

// encodeCall is the call_ref column: the call as JSON, its times cut to
// the millisecond like every time in the store, or empty for none.
func encodeCall(c *alerts.CallRef) (string, error) {
	if c == nil {
		return "", nil
	}
	b, err := json.Marshal(storedCall(c))
	if err != nil {
		return "", fmt.Errorf("encode call: %w", err)
	}
	return string(b), nil
}

// storedCall is a copy of c as the store reads it back: times cut to the
// millisecond, in UTC.
func storedCall(c *alerts.CallRef) *alerts.CallRef {
	if c == nil {
		return nil
	}
	v := *c
	for _, t := range []*time.Time{&v.StartedAt, &v.AnsweredAt, &v.EndedAt} {
		*t = fromMillis(millis(*t))
	}
	return &v
}

func scanAlert(row scanner) (*alerts.Alert, error) {
	var (
		a                                           alerts.Alert
		kind, severity, state, dev, outcome, call   string
		task, followUp, review, inc                 string
		opened                                      int64
		last, cleared, accepted, dispatched, closed sql.NullInt64
		resolved, updated, incidentID               sql.NullInt64
		reading                                     sql.NullFloat64
	)
	err := row.Scan(&a.ID, &kind, &severity, &a.Priority, &state, &a.Test, &a.DeviceID, &dev,
		&opened, &last, &a.Occurrences, &reading, &a.Cleared, &cleared,
		&a.EscalationLevel, &a.Assignee, &a.DispatchedTo, &outcome,
		&accepted, &dispatched, &resolved, &closed, &updated, &a.Version, &call,
		&task, &followUp, &review, &incidentID, &inc)
	if err != nil {
		return nil, err
	}
	if err := errors.Join(decodeJSON(task, &a.Task), decodeJSON(followUp, &a.FollowUp), decodeJSON(review, &a.Review)); err != nil {
		return nil, fmt.Errorf("alert %d: decode task, follow-up or review: %w", a.ID, err)
	}
	a.IncidentID = incidentID.Int64
	if inc != "" {
		if err := json.Unmarshal([]byte(inc), &a.Incident); err != nil {
			return nil, fmt.Errorf("alert %d: decode incident: %w", a.ID, err)
		}
	}
	a.Kind, a.Severity, a.State, a.Outcome = alerts.Kind(kind), alerts.Severity(severity), alerts.State(state), alerts.Outcome(outcome)
	if err := json.Unmarshal([]byte(dev), &a.Device); err != nil {
		return nil, fmt.Errorf("alert %d: decode device snapshot: %w", a.ID, err)
	}
	if reading.Valid {
		a.Reading = &reading.Float64
	}
	if call != "" {
		if err := json.Unmarshal([]byte(call), &a.Call); err != nil {
			return nil, fmt.Errorf("alert %d: decode call: %w", a.ID, err)
		}
	}
	a.OpenedAt, a.LastOccurrence, a.ClearedAt = zeroOrMillis(opened), fromMillis(last), fromMillis(cleared)
	a.AcceptedAt, a.DispatchedAt, a.ResolvedAt = fromMillis(accepted), fromMillis(dispatched), fromMillis(resolved)
	a.ClosedAt, a.UpdatedAt = fromMillis(closed), fromMillis(updated)
	return &a, nil
}
