package hub

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/shouwang-hub/shouwang"
	"github.com/shouwang-hub/shouwang/devices"
)

// memSource is an IndexSource over devices in memory, full records and
// all. LoadDeviceIndex hands out only the fields the store's does, in one
// reused Device, so a test catches an index that keeps more than it may.
type memSource struct {
	mu   sync.Mutex
	devs map[string]*devices.Device
	fail error // FindDevice fails with it when set
}

func newMemSource(ds ...*devices.Device) *memSource {
	s := &memSource{devs: map[string]*devices.Device{}}
	for _, d := range ds {
		s.set(d)
	}
	return s
}

func (s *memSource) set(d *devices.Device) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := *d
	s.devs[d.ID] = &c
}

func (s *memSource) del(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.devs, id)
}

func (s *memSource) CountDevices(context.Context) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.devs), nil
}

func (s *memSource) LoadDeviceIndex(ctx context.Context, fn func(*devices.Device) error) error {
	s.mu.Lock()
	all := make([]*devices.Device, 0, len(s.devs))
	for _, d := range s.devs {
		all = append(all, d)
	}
	s.mu.Unlock()
	var row devices.Device
	for _, d := range all {
		row = devices.Device{ID: d.ID, Kind: d.Kind, Capabilities: slices.Clone(d.Capabilities),
			Location: devices.Location{Community: d.Location.Community, Grid: d.Location.Grid, Building: d.Location.Building},
			Health:   devices.Health{LastSeen: d.Health.LastSeen}}
		if err := fn(&row); err != nil {
			return err
		}
	}
	return nil
}

func (s *memSource) FindDevice(ctx context.Context, id string) (*devices.Device, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		return nil, s.fail
	}
	d, ok := s.devs[id]
	if !ok {
		return nil, shouwang.Errorf(shouwang.ENOTFOUND, "device %q is not registered", id)
	}
	c := *d
	return &c, nil
}

var indexT0 = time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)

func household(id string, kind devices.Kind, community, building string) *devices.Device {
	return &devices.Device{
		ID: id, Kind: kind, Vendor: "acme",
		Location: devices.Location{Community: community, Grid: "第一网格", Building: building, Unit: "1", Floor: "3", Household: "301"},
		Resident: devices.Resident{Name: "王秀英", LivesAlone: true},
		Contacts: []devices.Contact{{Name: "王伟", Phone: "13800000000"}},
	}
}

func TestIndexLoadAndGet(t *testing.T) {
	sos := household("sos-1", devices.KindSOSButton, "阳光社区", "3号楼")
	sos.Capabilities = []string{devices.CapVoice}
	sos.Health.LastSeen = indexT0
	src := newMemSource(sos,
		household("smoke-1", devices.KindSmoke, "阳光社区", "3号楼"),
		household("gas-1", devices.KindGas, "阳光社区", "4号楼"))
	x, err := LoadIndex(context.Background(), src)
	if err != nil {
		t.Fatal(err)
	}
	if x.Len() != 3 {
		t.Fatalf("Len = %d, want 3", x.Len())
	}
	d, ok := x.Get("sos-1")
	want := devices.Location{Community: "阳光社区", Grid: "第一网格", Building: "3号楼"}
	if !ok || d.ID != "sos-1" || d.Kind != devices.KindSOSButton || !d.Voice || !d.HeardFrom || d.Location == nil || *d.Location != want {
		t.Fatalf("Get(sos-1) = %+v, %v", d, ok)
	}
	smoke, _ := x.Get("smoke-1")
	gas, _ := x.Get("gas-1")
	if smoke.Voice || smoke.HeardFrom || smoke.Kind != devices.KindSmoke {
		t.Errorf("Get(smoke-1) = %+v", smoke)
	}
	if smoke.Location != d.Location {
		t.Error("two devices in one building do not share their Location")
	}
	if gas.Location == d.Location || gas.Location.Building != "4号楼" {
		t.Errorf("gas-1's location = %+v", *gas.Location)
	}
	if _, ok := x.Get("stranger"); ok {
		t.Error("Get found a device never registered")
	}
}

func TestIndexFull(t *testing.T) {
	src := newMemSource(household("sos-1", devices.KindSOSButton, "阳光社区", "3号楼"))
	x, err := LoadIndex(context.Background(), src)
	if err != nil {
		t.Fatal(err)
	}
	d, err := x.Full(context.Background(), "sos-1")
	if err != nil || d == nil || d.Resident.Name != "王秀英" || len(d.Contacts) != 1 || d.Location.Household != "301" {
		t.Fatalf("Full(sos-1) = %+v, %v; want the household record", d, err)
	}
	if d, err := x.Full(context.Background(), "stranger"); d != nil || err != nil {
		t.Errorf("Full(stranger) = %v, %v; want nil, nil", d, err)
	}
	src.fail = errors.New("disk on fire")
	if _, err := x.Full(context.Background(), "sos-1"); !errors.Is(err, src.fail) {
		t.Errorf("Full with the store failing: %v", err)
	}
}

// TestIndexRefreshKeepsSlots: a device changed, removed and registered
// again keeps its slot, and a reload keeps every slot too, so supervision
// can name devices by slot.
func TestIndexRefreshKeepsSlots(t *testing.T) {
	ctx := context.Background()
	src := newMemSource(household("sos-1", devices.KindSOSButton, "阳光社区", "3号楼"),
		household("sos-2", devices.KindSOSButton, "阳光社区", "3号楼"))
	x, err := LoadIndex(ctx, src)
	if err != nil {
		t.Fatal(err)
	}
	slot1, _, _ := x.lookup("sos-1")
	slot2, _, _ := x.lookup("sos-2")

	moved := household("sos-1", devices.KindSmoke, "幸福里", "1号楼")
	moved.Capabilities = []string{devices.CapVoice}
	src.set(moved)
	if err := x.Refresh(ctx, src, "sos-1"); err != nil {
		t.Fatal(err)
	}
	if d, ok := x.Get("sos-1"); !ok || d.Kind != devices.KindSmoke || d.Location.Community != "幸福里" || !d.Voice {
		t.Errorf("after a change: %+v, %v", d, ok)
	}

	src.del("sos-1")
	if err := x.Refresh(ctx, src, "sos-1"); err != nil {
		t.Fatal(err)
	}
	if _, ok := x.Get("sos-1"); ok || x.Len() != 1 {
		t.Fatalf("removed device still indexed (Len %d)", x.Len())
	}
	if slot, _, ok := x.lookup("sos-1"); slot != slot1 || ok {
		t.Errorf("lookup of a removed device = slot %d, %v; want its old slot %d, not registered", slot, ok, slot1)
	}
	if _, ok := x.at(slot1); ok {
		t.Error("a removed device's slot is still occupied")
	}

	src.set(household("sos-1", devices.KindSOSButton, "阳光社区", "3号楼"))
	src.set(household("sos-3", devices.KindSOSButton, "阳光社区", "5号楼"))
	src.del("sos-2")
	if err := x.Reload(ctx, src); err != nil {
		t.Fatal(err)
	}
	if x.Len() != 2 {
		t.Errorf("Len after the reload = %d, want 2", x.Len())
	}
	if slot, d, ok := x.lookup("sos-1"); slot != slot1 || !ok || d.Kind != devices.KindSOSButton {
		t.Errorf("sos-1 registered again: slot %d (%v), want its old slot %d", slot, ok, slot1)
	}
	if _, ok := x.Get("sos-2"); ok {
		t.Error("the reload kept a device the store no longer has")
	}
	slot3, d3, ok := x.lookup("sos-3")
	if !ok || slot3 == slot1 || slot3 == slot2 || d3.Location.Building != "5号楼" {
		t.Errorf("sos-3 after the reload: slot %d, %+v, %v", slot3, d3, ok)
	}
	if d, ok := x.at(slot3); !ok || d.ID != "sos-3" {
		t.Errorf("at(%d) = %+v, %v", slot3, d, ok)
	}
	var each []string
	x.each(func(slot int32, d IndexedDevice) { each = append(each, fmt.Sprint(slot, d.ID)) })
	slices.Sort(each)
	if want := []string{fmt.Sprint(slot1, "sos-1"), fmt.Sprint(slot3, "sos-3")}; !slices.Equal(each, want) {
		t.Errorf("each = %v, want %v", each, want)
	}
}

// TestIndexConcurrent reads while devices are refreshed and reloaded (run
// with -race).
func TestIndexConcurrent(t *testing.T) {
	ctx := context.Background()
	src := newMemSource()
	for i := range 200 {
		src.set(household(fmt.Sprintf("sos-%d", i), devices.KindSOSButton, "阳光社区", fmt.Sprint(i%7)))
	}
	x, err := LoadIndex(ctx, src)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 2 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				if d, ok := x.Get(fmt.Sprintf("sos-%d", i%200)); ok && d.Location.Community != "阳光社区" {
					t.Errorf("torn read: %+v", d)
					return
				}
			}
		})
	}
	for i := range 50 {
		if err := x.Refresh(ctx, src, fmt.Sprintf("sos-%d", i)); err != nil {
			t.Error(err)
		}
	}
	if err := x.Reload(ctx, src); err != nil {
		t.Error(err)
	}
	close(stop)
	wg.Wait()
	if x.Len() != 200 {
		t.Errorf("Len = %d, want 200", x.Len())
	}
}

// BenchmarkDeviceIndex loads a million devices in 25,000 buildings, reports
// what the index holds per device, and measures Get.
func BenchmarkDeviceIndex(b *testing.B) {
	const n = 1_000_000
	src := &countSource{n: n}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	x, err := LoadIndex(context.Background(), src)
	if err != nil {
		b.Fatal(err)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	perDevice := float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / n
	ids := make([]string, 1024)
	for i := range ids {
		ids[i] = fmt.Sprintf("sos-%07d", i*977)
	}
	b.ResetTimer()
	i := 0
	for b.Loop() {
		if _, ok := x.Get(ids[i%len(ids)]); !ok {
			b.Fatal("not found")
		}
		i++
	}
	b.ReportMetric(perDevice, "B/device")
	runtime.KeepAlive(x)
}

// countSource makes up n devices as the store would hand them over.
type countSource struct{ n int }

func (s *countSource) CountDevices(context.Context) (int, error) { return s.n, nil }

func (s *countSource) LoadDeviceIndex(ctx context.Context, fn func(*devices.Device) error) error {
	var d devices.Device
	for i := range s.n {
		d = devices.Device{ID: fmt.Sprintf("sos-%07d", i), Kind: devices.KindSOSButton,
			Location: devices.Location{Community: fmt.Sprintf("第%d社区", i/20000+1), Grid: fmt.Sprintf("网格%d", i/2000+1), Building: fmt.Sprintf("%d号楼", i/40+1)},
			Health:   devices.Health{LastSeen: indexT0}}
		if err := fn(&d); err != nil {
			return err
		}
	}
	return nil
}

func (s *countSource) FindDevice(ctx context.Context, id string) (*devices.Device, error) {
	return nil, shouwang.Errorf(shouwang.ENOTFOUND, "device %q is not registered", id)
}
