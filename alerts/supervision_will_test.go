package alerts_test

import (
	"slices"
	"testing"
	"time"

	"github.com/shouwang-hub/shouwang/alerts"
	"github.com/shouwang-hub/shouwang/devices"
)

// TestSupervisorWill: a last will makes a device due at the end of its
// grace, before its heartbeat deadline, unless it is heard from first; a
// device with no heartbeat (a vendor device) is watched for its wills only.
func TestSupervisorWill(t *testing.T) {
	sv := newWatcher(alerts.DefaultRules()) // grace 2 min; gas reporting 90 s, smoke 180 s
	smk := device("smk-1", devices.KindSmoke, false)
	zb := device("zb-smk", devices.KindSmoke, false) // a vendor device: no heartbeat
	sv.watch(smk, t0)

	if !sv.Will(sv.key("smk-1"), "smk-1", devices.KindSmoke, at(10*time.Second), 0, false) {
		t.Fatal("a smoke detector's will not taken")
	}
	if sv.Will(sv.key("air-1"), "air-1", devices.KindAir, at(10*time.Second), 0, false) {
		t.Fatal("an air monitor's will taken: it is not supervised")
	}
	if next, _ := sv.Next(); !next.Equal(at(130 * time.Second)) {
		t.Fatalf("Next = %v, want the grace's end t0+130s (before the heartbeat's t0+180s)", next)
	}
	// Back within the grace: not due, and its heartbeat deadline is back.
	if silent, _ := sv.seen("smk-1", at(60*time.Second)); silent {
		t.Fatal("seen within the grace reported as silent")
	}
	if due := sv.due(at(200 * time.Second)); len(due) != 0 {
		t.Fatalf("due after coming back: %v", due)
	}
	if next, _ := sv.Next(); !next.Equal(at(240 * time.Second)) {
		t.Fatalf("Next = %v, want the heartbeat's t0+240s", next)
	}

	// The vendor device: watched from its will only.
	sv.Will(sv.key("zb-smk"), zb.ID, zb.Kind, at(300*time.Second), 0, false)
	if keys := sv.Wills(); !slices.Equal(keys, []int32{sv.key("zb-smk")}) {
		t.Fatalf("Wills = %v, want zb-smk's", keys)
	}
	if due := sv.due(at(419 * time.Second)); !slices.Equal(due, []string{"smk-1"}) {
		t.Fatalf("Due = %v, want only smk-1 (silent since 60 s)", due)
	}
	if due := sv.due(at(420 * time.Second)); !slices.Equal(due, []string{"zb-smk"}) {
		t.Fatalf("Due = %v, want zb-smk at its grace's end", due)
	}
	if since, will := sv.Since(sv.key("zb-smk")); !will || !since.Equal(at(300*time.Second)) {
		t.Fatalf("Since = %v %v, want its will at t0+300s", since, will)
	}
	if silent, watched := sv.seen("zb-smk", at(500*time.Second)); !silent || !watched {
		t.Fatalf("Seen(zb-smk) = %v %v, want it was silent", silent, watched)
	}
	if _, ok := sv.Next(); ok {
		t.Fatal("a device with no heartbeat and no will has a deadline")
	}
	if len(sv.Wills()) != 0 {
		t.Fatal("a will outlived the device's return")
	}
}

// TestSupervisorMarkSilentAndRegrace: a device marked silent (taken into
// an outage, or found offline before a restart) says so when it returns;
// after a blind spell every heartbeat deadline starts again.
func TestSupervisorMarkSilentAndRegrace(t *testing.T) {
	sv := newWatcher(alerts.DefaultRules())
	for _, id := range []string{"smk-1", "smk-2"} {
		sv.watch(device(id, devices.KindSmoke, false), t0)
	}
	sv.MarkSilent(sv.key("smk-1"))
	sv.MarkSilent(sv.key("zb-1")) // not watched at all: a vendor device found offline before
	sv.Regrace(at(150 * time.Second))
	if due := sv.due(at(329 * time.Second)); len(due) != 0 {
		t.Fatalf("due before a full reporting time after the regrace: %v", due)
	}
	if due := sv.due(at(330 * time.Second)); !slices.Equal(due, []string{"smk-2"}) {
		t.Fatalf("Due = %v, want smk-2 (smk-1 was marked silent)", due)
	}
	for _, id := range []string{"smk-1", "zb-1"} {
		if silent, watched := sv.seen(id, at(400*time.Second)); !silent || !watched {
			t.Errorf("Seen(%s) = %v %v, want it was silent", id, silent, watched)
		}
	}
	if next, _ := sv.Next(); !next.Equal(at(580 * time.Second)) {
		t.Fatalf("Next = %v, want smk-1's t0+400s+180s (zb-1 has no heartbeat)", next)
	}
}

// TestSupervisorWillOrder: the hub handles a device's messages
// concurrently, so its "online" may be handled before the will it
// replaced, and a reading that came before the will after it: arrival
// numbers, not the order of handling, decide.
func TestSupervisorWillOrder(t *testing.T) {
	sv := newWatcher(alerts.DefaultRules())
	smk := device("smk-1", devices.KindSmoke, false)
	sv.watch(smk, t0)
	key := sv.key("smk-1")
	// The will arrived 7th, the device's online 9th; online is handled first.
	sv.SeenArrival(key, at(time.Second), 9)
	sv.Will(key, smk.ID, smk.Kind, at(2*time.Second), 7, false)
	if len(sv.Wills()) != 0 {
		t.Fatal("a stale will (arrived before the device spoke again) is pending")
	}
	// A reading that arrived 10th before a will 12th, handled after it,
	// does not take the will back; one that arrived 13th does.
	sv.Will(key, smk.ID, smk.Kind, at(3*time.Second), 12, false)
	sv.SeenArrival(key, at(4*time.Second), 10)
	if len(sv.Wills()) != 1 {
		t.Fatal("a reading older than the will took it back")
	}
	sv.SeenArrival(key, at(5*time.Second), 13)
	if len(sv.Wills()) != 0 {
		t.Fatal("a message after the will did not take it back")
	}
	// Arrival numbers compare by their low 32 bits across the wrap.
	sv.SeenArrival(key, at(6*time.Second), 1<<31)
	sv.SeenArrival(key, at(6*time.Second), 1<<32-2)
	sv.Will(key, smk.ID, smk.Kind, at(7*time.Second), 1<<32+3, false)
	if len(sv.Wills()) != 1 {
		t.Fatal("a will after the 32-bit wrap was taken as stale")
	}
	// A retained will (a broker's replay of the status it keeps) is older
	// than any message seen, whatever its arrival number.
	zb := device("zb-1", devices.KindSmoke, false)
	zk := sv.key("zb-1")
	sv.SeenArrival(zk, at(8*time.Second), 20) // not even watched: a vendor device
	sv.Will(zk, zb.ID, zb.Kind, at(9*time.Second), 1<<32+40, true)
	if slices.Contains(sv.Wills(), zk) {
		t.Fatal("a retained will after a live message is pending")
	}
	fresh := device("fresh-1", devices.KindSmoke, false)
	sv.Will(sv.key("fresh-1"), fresh.ID, fresh.Kind, at(10*time.Second), 1<<32+41, true)
	if !slices.Contains(sv.Wills(), sv.key("fresh-1")) {
		t.Fatal("a retained will of a device not heard from since the start was ignored")
	}
}

// TestSupervisorRegraceRestartsAWillsGrace: a will pending when the hub
// stops hearing (a broker that stops sends its clients' wills as it goes)
// gets its whole grace again when the hub hears again, as silent devices
// get a full reporting time: the device could not show it was back.
func TestSupervisorRegraceRestartsAWillsGrace(t *testing.T) {
	sv := newWatcher(alerts.DefaultRules()) // grace 2 min, smoke reporting 180 s
	for _, id := range []string{"smk-1", "smk-2"} {
		sv.watch(device(id, devices.KindSmoke, false), t0)
	}
	sv.Will(sv.key("smk-1"), "smk-1", devices.KindSmoke, at(10*time.Second), 0, false) // due at 130 s
	sv.Regrace(at(150 * time.Second))                                                  // the grace ran out while deaf
	if due := sv.due(at(269 * time.Second)); len(due) != 0 {
		t.Fatalf("due before a whole grace after the regrace: %v", due)
	}
	// A second will after the regrace does not extend the restarted grace.
	sv.Will(sv.key("smk-1"), "smk-1", devices.KindSmoke, at(200*time.Second), 0, false)
	if due := sv.due(at(270 * time.Second)); !slices.Equal(due, []string{"smk-1"}) {
		t.Fatalf("Due = %v, want smk-1 at the restarted grace's end (150 s + 2 min)", due)
	}
	if since, will := sv.Since(sv.key("smk-1")); !will || !since.Equal(at(200*time.Second)) {
		t.Fatalf("Since = %v %v, want its latest will", since, will)
	}
	if due := sv.due(at(330 * time.Second)); !slices.Equal(due, []string{"smk-2"}) {
		t.Fatalf("Due = %v, want smk-2 a full reporting time after the regrace", due)
	}
}
