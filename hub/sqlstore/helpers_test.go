package sqlstore

import (
	"bytes"
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/shouwang-hub/shouwang/alerts"
	"github.com/shouwang-hub/shouwang/devices"
)

// logBuffer is a concurrency-safe buffer for a text log handler.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(string(bytes.TrimRight(p, "\n")))
	return len(p), nil
}

func ctx(t *testing.T) context.Context { return t.Context() }

// device returns a valid device in a community, grid and building.
func device(id, community, grid, building string) *devices.Device {
	return &devices.Device{
		ID:           id,
		Kind:         devices.KindSOSButton,
		Vendor:       "acme",
		Model:        "B1",
		Capabilities: []string{devices.CapVoice},
		Location: devices.Location{
			Community: community, Grid: grid, Building: building,
			Unit: "1", Floor: "3", Household: "301",
		},
		Resident:   devices.Resident{Name: "Wang Fang", BirthYear: 1941, LivesAlone: true, CareNotes: "hard of hearing", Language: "zh"},
		Contacts:   []devices.Contact{{Name: "Wang Lei", Relation: "son", Phone: "13800000000"}},
		GridWorker: devices.GridWorker{Name: "Li Na", Phone: "13900000000"},
	}
}

func mustCreate(t *testing.T, s *Store, ds ...*devices.Device) {
	t.Helper()
	for _, d := range ds {
		if err := s.CreateDevice(ctx(t), d, "hash-"+d.ID); err != nil {
			t.Fatalf("CreateDevice(%s): %v", d.ID, err)
		}
	}
}

var t0 = time.Date(2025, 3, 1, 8, 0, 0, 0, time.UTC)

// newAlert returns a new alert of a device in a community, opened at.
func newAlert(deviceID, community string, kind alerts.Kind, sev alerts.Severity, opened time.Time) *alerts.Alert {
	d := device(deviceID, community, "g1", "b1")
	return &alerts.Alert{
		Kind: kind, Severity: sev, Priority: 3 - sev.Rank() + 1, State: alerts.StateNew,
		DeviceID: deviceID, Device: *d,
		OpenedAt: opened, LastOccurrence: opened, Occurrences: 1, UpdatedAt: opened,
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
