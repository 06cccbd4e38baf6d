package alerts_test

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shouwang-hub/shouwang/alerts"
	"github.com/shouwang-hub/shouwang/devices"
)

func TestSupervisorSilence(t *testing.T) {
	sv := newWatcher(alerts.DefaultRules())
	gas := device("gas-1", devices.KindGas, false) // reporting 90 s
	sos := device("sos-1", devices.KindSOSButton, false)
	sv.watch(gas, t0)
	sv.watch(sos, t0)
	sv.watch(device("air-1", devices.KindAir, false), t0)
	if sv.Len() != 2 {
		t.Fatalf("watching %d devices, want 2 (air is not supervised)", sv.Len())
	}
	if _, watched := sv.seen("air-1", at(time.Second)); watched {
		t.Error("an air monitor is watched")
	}
	if next, ok := sv.Next(); !ok || !next.Equal(at(90*time.Second)) {
		t.Fatalf("Next = %v %v, want t0+90s", next, ok)
	}
	if due := sv.due(at(90*time.Second - time.Millisecond)); len(due) != 0 {
		t.Fatalf("due before the reporting time: %v", due)
	}
	if due := sv.due(at(90 * time.Second)); !slices.Equal(due, []string{"gas-1"}) {
		t.Fatalf("Due = %v, want gas-1", due)
	}
	if due := sv.due(at(100 * time.Second)); len(due) != 0 {
		t.Fatalf("reported twice: %v", due)
	}
	if next, _ := sv.Next(); !next.Equal(at(180 * time.Second)) {
		t.Fatalf("Next = %v, want the sos button's t0+180s", next)
	}
	// sos-1 speaks at 60 s: its deadline moves to 240 s.
	if silent, watched := sv.seen("sos-1", at(60*time.Second)); silent || !watched {
		t.Fatalf("Seen(sos-1) = %v, %v", silent, watched)
	}
	if due := sv.due(at(200 * time.Second)); len(due) != 0 {
		t.Fatalf("due after being seen: %v", due)
	}
	// gas-1 comes back at 210 s: it was silent.
	if silent, watched := sv.seen("gas-1", at(210*time.Second)); !silent || !watched {
		t.Fatalf("Seen(gas-1) = %v, %v; want it was silent", silent, watched)
	}
	if silent, _ := sv.seen("gas-1", at(211*time.Second)); silent {
		t.Fatal("silent reported twice")
	}
	if next, _ := sv.Next(); !next.Equal(at(240 * time.Second)) {
		t.Fatalf("Next = %v, want t0+240s", next)
	}
	if due := sv.due(at(400 * time.Second)); !slices.Equal(due, []string{"sos-1", "gas-1"}) {
		t.Fatalf("Due = %v, want sos-1 then gas-1 (most overdue first)", due)
	}
	if _, ok := sv.Next(); ok {
		t.Fatal("Next with every device silent")
	}
	sv.forget("gas-1")
	if _, watched := sv.seen("gas-1", at(500*time.Second)); watched || sv.Len() != 1 {
		t.Fatal("forgotten device still watched")
	}
}

// TestSupervisorOverrides: a device's own reporting time, and a changed
// one, apply.
func TestSupervisorOverrides(t *testing.T) {
	rs, err := alerts.LoadRules(strings.NewReader(`{"devices": {"sos-2": {"supervision": {"reporting": "10m"}}}}`))
	if err != nil {
		t.Fatal(err)
	}
	sv := newWatcher(rs)
	sv.watch(device("sos-1", devices.KindSOSButton, false), t0)
	sv.watch(device("sos-2", devices.KindSOSButton, false), t0)
	if due := sv.due(at(5 * time.Minute)); !slices.Equal(due, []string{"sos-1"}) {
		t.Fatalf("Due = %v", due)
	}
	if due := sv.due(at(10 * time.Minute)); !slices.Equal(due, []string{"sos-2"}) {
		t.Fatalf("Due = %v", due)
	}
	// A device whose kind changes to one not supervised is forgotten.
	sv.watch(device("sos-1", devices.KindAir, false), at(11*time.Minute))
	if sv.Len() != 1 {
		t.Fatalf("Len = %d", sv.Len())
	}
	// Watch again with a later time: the deadline moves on, but a device
	// reported silent stays so until Seen.
	sv.watch(device("sos-2", devices.KindSOSButton, false), at(11*time.Minute))
	if silent, _ := sv.seen("sos-2", at(12*time.Minute)); !silent {
		t.Fatal("Watch cleared a silent device")
	}
}

// TestSupervisorManyDevices: 100,000 devices, seen at scattered times, are
// each reported exactly when due, once.
func TestSupervisorManyDevices(t *testing.T) {
	const n = 100_000
	sv := newWatcher(alerts.DefaultRules())
	rng := rand.New(rand.NewPCG(1, 2))
	last := make(map[string]time.Time, n)
	kinds := []devices.Kind{devices.KindSOSButton, devices.KindSmoke, devices.KindGas}
	reporting := map[devices.Kind]time.Duration{devices.KindSOSButton: 180 * time.Second, devices.KindSmoke: 180 * time.Second, devices.KindGas: 90 * time.Second}
	kindOf := make(map[string]devices.Kind, n)
	for i := range n {
		id := fmt.Sprintf("dev-%06d", i)
		k := kinds[i%3]
		sv.watch(device(id, k, false), t0)
		last[id], kindOf[id] = t0, k
	}
	// Ten rounds: most devices speak, some fall silent; check Due against
	// a plain model every round.
	silent := map[string]bool{}
	now := t0
	for round := range 10 {
		now = now.Add(60 * time.Second)
		for id := range last {
			if rng.IntN(10) < 8 { // 80 % speak this minute
				at := now.Add(-time.Duration(rng.IntN(60_000)) * time.Millisecond)
				was, _ := sv.seen(id, at)
				if was != silent[id] {
					t.Fatalf("round %d: Seen(%s) wasSilent = %v, want %v", round, id, was, silent[id])
				}
				silent[id] = false
				if at.After(last[id]) {
					last[id] = at
				}
			}
		}
		var want []string
		for id, l := range last {
			if !silent[id] && !now.Before(l.Add(reporting[kindOf[id]])) {
				want = append(want, id)
				silent[id] = true
			}
		}
		got := sv.due(now)
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Fatalf("round %d: %d due, want %d", round, len(got), len(want))
		}
		// Next is the earliest deadline of a device not silent.
		var wantNext time.Time
		for id, l := range last {
			if d := l.Add(reporting[kindOf[id]]); !silent[id] && (wantNext.IsZero() || d.Before(wantNext)) {
				wantNext = d
			}
		}
		if next, ok := sv.Next(); !ok || !next.Equal(wantNext) {
			t.Fatalf("round %d: Next = %v, want %v", round, next, wantNext)
		}
	}
}

// TestSupervisorKeys: keys may arrive in any order and leave gaps, a
// forgotten key can be watched again, and keys never watched are not.
func TestSupervisorKeys(t *testing.T) {
	sv := alerts.NewSupervisor(alerts.DefaultRules())
	sv.Grow(4)
	sv.Watch(9, "gas-9", devices.KindGas, t0)
	sv.Watch(2, "sos-2", devices.KindSOSButton, t0)
	sv.Watch(-1, "gas-x", devices.KindGas, t0)
	if sv.Len() != 2 {
		t.Fatalf("Len = %d, want 2", sv.Len())
	}
	for _, key := range []int32{0, 3, 8, 10, 1 << 20, -1} {
		if _, watched := sv.Seen(key, at(time.Second)); watched {
			t.Errorf("key %d watched", key)
		}
	}
	sv.Forget(5) // never watched: nothing happens
	sv.Forget(1 << 20)
	if due := sv.Due(at(90 * time.Second)); !slices.Equal(due, []int32{9}) {
		t.Fatalf("Due = %v, want [9]", due)
	}
	sv.Forget(9)
	if _, watched := sv.Seen(9, at(100*time.Second)); watched || sv.Len() != 1 {
		t.Fatalf("forgotten key still watched (Len %d)", sv.Len())
	}
	sv.Watch(9, "gas-9", devices.KindGas, at(100*time.Second))
	if silent, watched := sv.Seen(9, at(101*time.Second)); silent || !watched {
		t.Fatalf("watched again: Seen = %v, %v; want not silent, watched", silent, watched)
	}
	if due := sv.Due(at(191 * time.Second)); !slices.Equal(due, []int32{2, 9}) {
		t.Fatalf("Due = %v, want [2 9]", due)
	}
}

// watcher names devices by ID over a Supervisor's keys, as the hub's
// device index does with its slots.
type watcher struct {
	*alerts.Supervisor
	keys map[string]int32
	ids  []string
}

func newWatcher(rs alerts.RuleSet) *watcher {
	return &watcher{Supervisor: alerts.NewSupervisor(rs), keys: map[string]int32{}}
}

func (w *watcher) key(id string) int32 {
	k, ok := w.keys[id]
	if !ok {
		k = int32(len(w.ids))
		w.keys[id] = k
		w.ids = append(w.ids, id)
	}
	return k
}

func (w *watcher) watch(d *devices.Device, lastSeen time.Time) {
	w.Watch(w.key(d.ID), d.ID, d.Kind, lastSeen)
}

func (w *watcher) seen(id string, at time.Time) (wasSilent, watched bool) {
	return w.Seen(w.key(id), at)
}

func (w *watcher) forget(id string) { w.Forget(w.key(id)) }

func (w *watcher) due(now time.Time) []string {
	var ids []string
	for _, k := range w.Due(now) {
		ids = append(ids, w.ids[k])
	}
	return ids
}

// BenchmarkSupervisor measures Seen with a million watched devices and
// reports the memory the Supervisor holds per device.
func BenchmarkSupervisor(b *testing.B) {
	const n = 1_000_000
	kinds := []devices.Kind{devices.KindSOSButton, devices.KindSmoke, devices.KindGas}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	sv := alerts.NewSupervisor(alerts.DefaultRules())
	for i := range n {
		sv.Watch(int32(i), "dev", kinds[i%3], t0)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	perDevice := float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / n
	b.ResetTimer()
	i := 0
	for b.Loop() {
		sv.Seen(int32(i%n), t0.Add(time.Duration(i)*time.Microsecond))
		i++
	}
	b.ReportMetric(perDevice, "B/device") // after the loop: ResetTimer drops reported metrics
	runtime.KeepAlive(sv)
}

// BenchmarkSupervisorDue measures a sweep in which every device was seen
// since its deadline was set (the lazy re-check), per device.
func BenchmarkSupervisorDue(b *testing.B) {
	const n = 1_000_000
	sv := alerts.NewSupervisor(alerts.DefaultRules())
	sv.Grow(n)
	for i := range n {
		sv.Watch(int32(i), "dev", devices.KindGas, t0)
	}
	now := t0
	b.ResetTimer()
	for b.Loop() {
		b.StopTimer()
		now = now.Add(90 * time.Second)
		for i := range n {
			sv.Seen(int32(i), now.Add(-time.Second))
		}
		b.StartTimer()
		if due := sv.Due(now); len(due) != 0 {
			b.Fatalf("%d due", len(due))
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/n, "ns/device")
}
