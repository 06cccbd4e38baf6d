package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/shouwang-hub/shouwang"
	"github.com/shouwang-hub/shouwang/alerts"
	"github.com/shouwang-hub/shouwang/devices"
)

// Incidents: an incident is an alert with its scope and counts as JSON
// (alerts.incident), the alerts it links point at it (alerts.incident_id),
// and its devices are incident_members (migration 00007).

// The incident parts of a transaction.
var _ alerts.IncidentTx = (*Tx)(nil)

// encodeIncident is the incident column: the incident as JSON, its time cut
// to the millisecond, or empty for an alert that is no incident.
func encodeIncident(in *alerts.Incident) (string, error) {
	if in == nil {
		return "", nil
	}
	b, err := json.Marshal(storedIncident(in))
	if err != nil {
		return "", fmt.Errorf("encode incident: %w", err)
	}
	return string(b), nil
}

// storedIncident is a copy of in as the store reads it back.
func storedIncident(in *alerts.Incident) *alerts.Incident {
	if in == nil {
		return nil
	}
	c := *in
	c.FirstAt = fromMillis(millis(in.FirstAt))
	return &c
}

func nullID(id int64) sql.NullInt64 { return sql.NullInt64{Int64: id, Valid: id != 0} }

// ScopeAlerts implements alerts.IncidentTx.
func (tx *Tx) ScopeAlerts(ctx context.Context, scope string, kinds []alerts.Kind, since time.Time) ([]*alerts.Alert, error) {
	if scope == "" || len(kinds) == 0 {
		return nil, nil
	}
	args := []any{scope, unixMillis(since)}
	for _, k := range kinds {
		args = append(args, string(k))
	}
	list, err := tx.s.queryAlerts(ctx, tx.tx, `SELECT `+alertCols+` FROM alerts
		WHERE scope = ? AND `+openStates+` AND opened_at >= ? AND test = FALSE AND incident_id IS NULL
		AND kind IN (`+placeholders(len(kinds))+`) ORDER BY opened_at, id`, args...)
	if err != nil {
		return nil, fmt.Errorf("alerts of scope: %w", err)
	}
	return list, nil
}

// LinkedAlerts implements alerts.IncidentTx.
func (tx *Tx) LinkedAlerts(ctx context.Context, incidentID int64) ([]*alerts.Alert, error) {
	list, err := tx.s.queryAlerts(ctx, tx.tx, `SELECT `+alertCols+` FROM alerts
		WHERE incident_id = ? ORDER BY opened_at, id`, incidentID)
	if err != nil {
		return nil, fmt.Errorf("linked alerts: %w", err)
	}
	return list, nil
}

// PutMember implements alerts.IncidentTx.
func (tx *Tx) PutMember(ctx context.Context, m alerts.IncidentMember) error {
	if m.DeviceID == "" {
		return shouwang.Errorf(shouwang.EINVALID, "incident %d: a member without a device", m.IncidentID)
	}
	var one int
	err := tx.tx.QueryRowContext(ctx, tx.q(`SELECT 1 FROM alerts WHERE id = ? AND incident <> ''`), m.IncidentID).Scan(&one)
	if err == sql.ErrNoRows {
		return shouwang.Errorf(shouwang.ENOTFOUND, "incident %d not found", m.IncidentID)
	} else if err != nil {
		return fmt.Errorf("put member: %w", err)
	}
	_, err = tx.tx.ExecContext(ctx, tx.q(`INSERT INTO incident_members
		(incident_id, device_id, alert_id, kind, unit, floor, household, since, returned_at, joined)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, (SELECT COALESCE(MAX(joined), 0) + 1 FROM incident_members WHERE incident_id = ?))
		ON CONFLICT (incident_id, device_id) DO UPDATE SET alert_id = excluded.alert_id, kind = excluded.kind,
			unit = excluded.unit, floor = excluded.floor, household = excluded.household,
			since = excluded.since, returned_at = excluded.returned_at`),
		m.IncidentID, m.DeviceID, nullID(m.AlertID), string(m.Kind), m.Unit, m.Floor, m.Household,
		unixMillis(m.Since), millis(m.ReturnedAt), m.IncidentID)
	if err != nil {
		return fmt.Errorf("put member %s of incident %d: %w", m.DeviceID, m.IncidentID, err)
	}
	return nil
}

const memberCols = `incident_id, device_id, alert_id, kind, unit, floor, household, since, returned_at`

func scanMembers(rows *sql.Rows) ([]alerts.IncidentMember, error) {
	defer rows.Close()
	var out []alerts.IncidentMember
	for rows.Next() {
		var (
			m          alerts.IncidentMember
			kind       string
			alert, ret sql.NullInt64
			since      int64
		)
		if err := rows.Scan(&m.IncidentID, &m.DeviceID, &alert, &kind, &m.Unit, &m.Floor, &m.Household, &since, &ret); err != nil {
			return nil, err
		}
		m.AlertID, m.Since, m.ReturnedAt = alert.Int64, zeroOrMillis(since), fromMillis(ret)
		m.Kind = devices.Kind(kind)
		out = append(out, m)
	}
	return out, rows.Err()
}

// members reads an incident's members through db, in the order they joined.
func (s *Store) members(ctx context.Context, db querier, incidentID int64) ([]alerts.IncidentMember, error) {
	rows, err := db.QueryContext(ctx, s.q(`SELECT `+memberCols+` FROM incident_members WHERE incident_id = ? ORDER BY joined`), incidentID)
	if err != nil {
		return nil, fmt.Errorf("incident %d: members: %w", incidentID, err)
	}
	ms, err := scanMembers(rows)
	if err != nil {
		return nil, fmt.Errorf("incident %d: members: %w", incidentID, err)
	}
	return ms, nil
}

// Members implements alerts.IncidentTx.
func (tx *Tx) Members(ctx context.Context, incidentID int64) ([]alerts.IncidentMember, error) {
	return tx.s.members(ctx, tx.tx, incidentID)
}

// Memberships implements alerts.IncidentTx: the device's memberships of
// open incidents, by incident.
func (tx *Tx) Memberships(ctx context.Context, deviceID string) ([]alerts.IncidentMember, error) {
	rows, err := tx.tx.QueryContext(ctx, tx.q(`SELECT `+qualified("m.", memberCols)+` FROM incident_members m
		JOIN alerts a ON a.id = m.incident_id WHERE m.device_id = ? AND a.`+openStates+` ORDER BY m.incident_id`), deviceID)
	if err != nil {
		return nil, fmt.Errorf("memberships of %s: %w", deviceID, err)
	}
	ms, err := scanMembers(rows)
	if err != nil {
		return nil, fmt.Errorf("memberships of %s: %w", deviceID, err)
	}
	return ms, nil
}

// OpenMemberships returns the members of open incidents not heard from
// again, by incident: at start the hub watches them as devices it found
// offline.
func (s *Store) OpenMemberships(ctx context.Context) ([]alerts.IncidentMember, error) {
	rows, err := s.db.r.QueryContext(ctx, `SELECT `+qualified("m.", memberCols)+` FROM incident_members m
		JOIN alerts a ON a.id = m.incident_id WHERE m.returned_at IS NULL AND a.`+openStates+` ORDER BY m.incident_id, m.joined`)
	if err != nil {
		return nil, fmt.Errorf("open memberships: %w", err)
	}
	ms, err := scanMembers(rows)
	if err != nil {
		return nil, fmt.Errorf("open memberships: %w", err)
	}
	return ms, nil
}

// qualified prefixes every column of a comma-separated list.
func qualified(prefix, cols string) string {
	parts := strings.Split(cols, ",")
	for i, p := range parts {
		parts[i] = prefix + strings.TrimSpace(p)
	}
	return strings.Join(parts, ", ")
}

// placeholders is n comma-separated "?".
func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}
