package hub

import (
	"context"

	"github.com/shouwang-hub/shouwang/alerts"
	"github.com/shouwang-hub/shouwang/devices"
)

// What the engine needs of the telemetry outbox (hub/outbox): a spool that
// takes records with the de-duplication windows they were accepted under,
// and a format that makes the records. The engine never looks inside a
// record.

// Spool is the durable outbox in front of InfluxDB, with the telemetry
// de-duplication windows committed in the same transaction as the records
// (outbox.Spool).
type Spool interface {
	Append(ctx context.Context, records [][]byte, windows map[string]devices.SeqWindow) error
	SeqWindows(ctx context.Context) (map[string]devices.SeqWindow, error)
}

// RecordFormat makes the spool's records: one line of bytes each, non-empty
// and without a newline. The InfluxDB adapter supplies it (influx.Format,
// line protocol), so no other package knows the format its records are in.
type RecordFormat interface {
	// Reading is a telemetry message of a device at loc (which may be nil).
	Reading(m *devices.Message, loc *devices.Location) []byte
	// AlertChange is an alert change, for dashboards.
	AlertChange(c alerts.Change) []byte
}
