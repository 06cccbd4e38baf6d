package influx

import (
	"github.com/shouwang-hub/shouwang/alerts"
	"github.com/shouwang-hub/shouwang/devices"
)

// Format makes the hub's outbox records for InfluxDB: each record is one
// line of line protocol. The engine is handed a Format and never looks
// inside a record; the outbox stores records as opaque bytes; the Writer
// sends them as they are. So this package is the only one that knows line
// protocol.
type Format struct{}

// Reading is Line: one telemetry message at its device's location.
func (Format) Reading(m *devices.Message, loc *devices.Location) []byte { return Line(m, loc) }

// AlertChange is AlertLine: one alert change, for dashboards.
func (Format) AlertChange(c alerts.Change) []byte { return AlertLine(c) }
