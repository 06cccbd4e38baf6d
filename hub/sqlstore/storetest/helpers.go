package storetest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/shouwang-hub/shouwang"
	"github.com/shouwang-hub/shouwang/devices"
)

// clocked is what every store under test offers so the suite can pin
// "now": the SQL store and every fake have SetClock.
type clocked interface{ SetClock(func() time.Time) }

// fixClock makes s see a clock that reads at, and returns a function that
// moves it.
func fixClock(t *testing.T, s any, at time.Time) func(time.Duration) {
	t.Helper()
	c, ok := s.(clocked)
	if !ok {
		t.Fatalf("storetest: %T has no SetClock(func() time.Time)", s)
	}
	var mu sync.Mutex
	c.SetClock(func() time.Time { mu.Lock(); defer mu.Unlock(); return at })
	return func(d time.Duration) { mu.Lock(); defer mu.Unlock(); at = at.Add(d) }
}

func ctx(t *testing.T) context.Context { return t.Context() }

func ptr[T any](v T) *T { return &v }

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
		Resident:   devices.Resident{Name: "Wang Fang", BirthYear: 1941, LivesAlone: true, CareNotes: "hard of hearing", Language: "zh", Phone: "13700000000"},
		Contacts:   []devices.Contact{{Name: "Wang Lei", Relation: "son", Phone: "13800000000", NotifySOS: true}},
		GridWorker: devices.GridWorker{Name: "Li Na", Phone: "13900000000"},
	}
}

// wantCode fails the test unless err carries the domain error code.
func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if got := shouwang.ErrorCode(err); got != code {
		t.Fatalf("error code = %q, want %q (err: %v)", got, code, err)
	}
}

func mustCreate(t *testing.T, s devices.Registry, ds ...*devices.Device) {
	t.Helper()
	for _, d := range ds {
		if err := s.CreateDevice(ctx(t), d, "hash-"+d.ID); err != nil {
			t.Fatalf("CreateDevice(%s): %v", d.ID, err)
		}
	}
}

// Limits every store keeps: listings return DefaultListLimit items unless
// asked for more, never more than MaxListLimit; the unregistered list keeps
// the MaxUnregistered most recently seen IDs, details cut to
// MaxUnregisteredDetail runes.
const (
	DefaultListLimit      = 100
	MaxListLimit          = 1000
	MaxUnregistered       = 1000
	MaxUnregisteredDetail = 256
)

// tableRows returns how many rows a SQL store keeps in table, or -1 for a
// store without tables (a fake), whose storage the suite cannot see.
func tableRows(t *testing.T, s any, table string) int64 {
	t.Helper()
	c, ok := s.(interface {
		Counts(context.Context) (map[string]int64, error)
	})
	if !ok {
		return -1
	}
	n, err := c.Counts(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	v, ok := n[table]
	if !ok {
		t.Fatalf("no table %s in %v", table, n)
	}
	return v
}
