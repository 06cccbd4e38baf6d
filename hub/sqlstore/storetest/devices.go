package storetest

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shouwang-hub/shouwang"
	"github.com/shouwang-hub/shouwang/devices"
)

func testDeviceCRUD(t *testing.T, open func(*testing.T) devices.Registry) {
	s := open(t)
	t0 := time.Date(2025, 3, 1, 8, 0, 0, 123_000_000, time.UTC)
	advance := fixClock(t, s, t0)

	d := device("sos-001", "Heping", "G1", "B3")
	if err := s.CreateDevice(ctx(t), d, "$7$hash"); err != nil {
		t.Fatalf("CreateDevice: %v", err)
	}
	if !d.CreatedAt.Equal(t0) || !d.UpdatedAt.Equal(t0) {
		t.Errorf("CreateDevice set times %v / %v, want %v", d.CreatedAt, d.UpdatedAt, t0)
	}
	got, err := s.FindDevice(ctx(t), "sos-001")
	if err != nil {
		t.Fatalf("FindDevice: %v", err)
	}
	if !reflect.DeepEqual(got, d) {
		t.Errorf("FindDevice round trip:\n got %+v\nwant %+v", got, d)
	}
	if got.CreatedAt.Location() != time.UTC {
		t.Errorf("CreatedAt not in UTC: %v", got.CreatedAt.Location())
	}
	if h, err := s.PasswordHash(ctx(t), "sos-001"); err != nil || h != "$7$hash" {
		t.Errorf("PasswordHash = %q, %v", h, err)
	}

	// A device with no lists and no optional fields round-trips too.
	bare := &devices.Device{ID: "bare", Kind: devices.KindSmoke, Location: devices.Location{Community: "Heping"}}
	mustCreate(t, s, bare)
	if got, err := s.FindDevice(ctx(t), "bare"); err != nil || !reflect.DeepEqual(got, bare) {
		t.Errorf("bare device round trip: %+v, %v; want %+v", got, err, bare)
	}

	// UpdateDevice replaces installer fields, not health, password or CreatedAt.
	if err := s.UpdateHealth(ctx(t), []devices.HealthUpdate{{ID: "sos-001", LastSeen: t0, Online: ptr(true), Battery: ptr(88.0)}}); err != nil {
		t.Fatal(err)
	}
	advance(time.Hour)
	upd := device("sos-001", "Xinhua", "G2", "B9")
	upd.Kind = devices.KindGas
	upd.Capabilities = nil
	upd.Contacts = nil
	upd.Resident = devices.Resident{Name: "Zhao Min"}
	upd.Health = devices.Health{Online: false, Battery: ptr(1.0)} // must be ignored
	if err := s.UpdateDevice(ctx(t), upd); err != nil {
		t.Fatalf("UpdateDevice: %v", err)
	}
	got, err = s.FindDevice(ctx(t), "sos-001")
	if err != nil {
		t.Fatal(err)
	}
	if got.Kind != devices.KindGas || got.Location != upd.Location || got.Resident != upd.Resident ||
		got.Capabilities != nil || got.Contacts != nil {
		t.Errorf("UpdateDevice did not replace installer fields: %+v", got)
	}
	if !got.Health.Online || got.Health.Battery == nil || *got.Health.Battery != 88 || !got.Health.LastSeen.Equal(t0) {
		t.Errorf("UpdateDevice touched health: %+v", got.Health)
	}
	if !got.CreatedAt.Equal(t0) || !got.UpdatedAt.Equal(t0.Add(time.Hour)) {
		t.Errorf("times after update: created %v updated %v", got.CreatedAt, got.UpdatedAt)
	}
	if h, _ := s.PasswordHash(ctx(t), "sos-001"); h != "$7$hash" {
		t.Errorf("UpdateDevice changed the password hash to %q", h)
	}

	if err := s.SetPasswordHash(ctx(t), "sos-001", "$7$new"); err != nil {
		t.Fatal(err)
	}
	if h, _ := s.PasswordHash(ctx(t), "sos-001"); h != "$7$new" {
		t.Errorf("SetPasswordHash: hash = %q", h)
	}

	if err := s.DeleteDevice(ctx(t), "sos-001"); err != nil {
		t.Fatalf("DeleteDevice: %v", err)
	}
	_, err = s.FindDevice(ctx(t), "sos-001")
	wantCode(t, err, shouwang.ENOTFOUND)
	_, err = s.PasswordHash(ctx(t), "sos-001")
	wantCode(t, err, shouwang.ENOTFOUND)
}

func testDeviceErrors(t *testing.T, open func(*testing.T) devices.Registry) {
	s := open(t)
	mustCreate(t, s, device("d1", "c", "g", "b"))

	err := s.CreateDevice(ctx(t), device("d1", "other", "g", "b"), "h")
	wantCode(t, err, shouwang.ECONFLICT)
	if msg := shouwang.ErrorMessage(err); msg != `device "d1" is already registered` {
		t.Errorf("conflict message = %q", msg)
	}

	for name, err := range map[string]error{
		"FindDevice":      func() error { _, err := s.FindDevice(ctx(t), "ghost"); return err }(),
		"UpdateDevice":    s.UpdateDevice(ctx(t), device("ghost", "c", "g", "b")),
		"DeleteDevice":    s.DeleteDevice(ctx(t), "ghost"),
		"SetPasswordHash": s.SetPasswordHash(ctx(t), "ghost", "h"),
		"PasswordHash":    func() error { _, err := s.PasswordHash(ctx(t), "ghost"); return err }(),
	} {
		if shouwang.ErrorCode(err) != shouwang.ENOTFOUND || !strings.Contains(shouwang.ErrorMessage(err), `"ghost"`) {
			t.Errorf("%s of a missing device: %v; want not_found naming the id", name, err)
		}
	}

	bad := device("has space", "c", "g", "b")
	wantCode(t, s.CreateDevice(ctx(t), bad, "h"), shouwang.EINVALID)
	wantCode(t, s.CreateDevice(ctx(t), device("d2", "c", "g", "b"), ""), shouwang.EINVALID)
	_, _, err = s.ListDevices(ctx(t), devices.Filter{Offset: -1})
	wantCode(t, err, shouwang.EINVALID)
}

func testImportDevicesAllOrNothing(t *testing.T, open func(*testing.T) devices.Registry) {
	s := open(t)
	mustCreate(t, s, device("b-105", "c", "g", "b"))

	batch := func(ids ...string) ([]*devices.Device, []string) {
		var ds []*devices.Device
		var hs []string
		for _, id := range ids {
			ds = append(ds, device(id, "c", "g", "b"))
			hs = append(hs, "h-"+id)
		}
		return ds, hs
	}

	// b-105 is already registered: nothing of the batch may be stored.
	ds, hs := batch("b-101", "b-102", "b-103", "b-104", "b-105", "b-106")
	err := s.ImportDevices(ctx(t), ds, hs)
	wantCode(t, err, shouwang.ECONFLICT)
	if !strings.Contains(shouwang.ErrorMessage(err), `"b-105"`) {
		t.Errorf("import conflict does not name the device: %v", err)
	}
	if _, n, _ := s.ListDevices(ctx(t), devices.Filter{}); n != 1 {
		t.Errorf("after a failed import %d devices are registered, want 1", n)
	}

	// A repeat inside the batch is a conflict too.
	ds, hs = batch("x1", "x2", "x1")
	err = s.ImportDevices(ctx(t), ds, hs)
	wantCode(t, err, shouwang.ECONFLICT)
	if !strings.Contains(shouwang.ErrorMessage(err), `"x1"`) {
		t.Errorf("repeat conflict does not name the device: %v", err)
	}

	// An invalid device is caught before anything is written.
	ds, hs = batch("y1", "y2")
	ds[1].Kind = "toaster"
	wantCode(t, s.ImportDevices(ctx(t), ds, hs), shouwang.EINVALID)
	wantCode(t, s.ImportDevices(ctx(t), ds[:1], nil), shouwang.EINVALID)

	ds, hs = batch("b-101", "b-102", "b-103")
	if err := s.ImportDevices(ctx(t), ds, hs); err != nil {
		t.Fatalf("ImportDevices: %v", err)
	}
	list, n, err := s.ListDevices(ctx(t), devices.Filter{})
	if err != nil || n != 4 || len(list) != 4 {
		t.Fatalf("after import: %d listed, total %d, %v; want 4", len(list), n, err)
	}
	for _, d := range ds {
		if h, err := s.PasswordHash(ctx(t), d.ID); err != nil || h != "h-"+d.ID {
			t.Errorf("hash of %s = %q, %v", d.ID, h, err)
		}
	}
}

func testListDevicesFilters(t *testing.T, open func(*testing.T) devices.Registry) {
	s := open(t)
	mk := func(id, community, grid, building string, kind devices.Kind, resident, household string) *devices.Device {
		d := device(id, community, grid, building)
		d.Kind, d.Resident.Name, d.Location.Household = kind, resident, household
		if kind != devices.KindSOSButton {
			d.Capabilities = nil
		}
		return d
	}
	mustCreate(t, s,
		mk("a1", "Heping", "G1", "B1", devices.KindSOSButton, "Wang Fang", "101"),
		mk("a2", "Heping", "G1", "B2", devices.KindSmoke, "Li Lei", "202"),
		mk("a3", "Heping", "G2", "B1", devices.KindGas, "Zhang Wei", "301"),
		mk("b1", "Xinhua", "G1", "B1", devices.KindSOSButton, "陈静", "1201"),
		mk("b2", "Xinhua", "G3", "B7", devices.KindAir, "Chen_Jing", "50%"),
		mk("GAS-X", "Xinhua", "G3", "B7", devices.KindGas, "", "702"),
	)
	if err := s.UpdateHealth(ctx(t), []devices.HealthUpdate{
		{ID: "a2", Online: ptr(true)}, {ID: "b1", Online: ptr(true)}, {ID: "a1", Online: ptr(false)},
	}); err != nil {
		t.Fatal(err)
	}

	cases := []struct {
		name string
		f    devices.Filter
		want []string
	}{
		{"all", devices.Filter{}, []string{"GAS-X", "a1", "a2", "a3", "b1", "b2"}},
		{"community", devices.Filter{Community: "Heping"}, []string{"a1", "a2", "a3"}},
		{"grid", devices.Filter{Grid: "G1"}, []string{"a1", "a2", "b1"}},
		{"community and grid", devices.Filter{Community: "Heping", Grid: "G1"}, []string{"a1", "a2"}},
		{"building", devices.Filter{Building: "B1"}, []string{"a1", "a3", "b1"}},
		{"kind", devices.Filter{Kind: devices.KindGas}, []string{"GAS-X", "a3"}},
		{"online", devices.Filter{Online: ptr(true)}, []string{"a2", "b1"}},
		{"offline", devices.Filter{Online: ptr(false)}, []string{"GAS-X", "a1", "a3", "b2"}},
		{"query id, any case", devices.Filter{Query: "gas"}, []string{"GAS-X"}},
		{"query resident", devices.Filter{Query: "WANG"}, []string{"a1"}},
		{"query resident, Chinese", devices.Filter{Query: "陈"}, []string{"b1"}},
		{"query household", devices.Filter{Query: "120"}, []string{"b1"}},
		{"query literal %", devices.Filter{Query: "50%"}, []string{"b2"}},
		{"query literal _", devices.Filter{Query: "n_j"}, []string{"b2"}},
		{"query and community", devices.Filter{Query: "B", Community: "Xinhua"}, []string{"b1", "b2"}},
		{"no match", devices.Filter{Community: "Nowhere"}, []string{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			list, total, err := s.ListDevices(ctx(t), c.f)
			if err != nil {
				t.Fatal(err)
			}
			if got := ids(list); !slices.Equal(got, c.want) || total != len(c.want) {
				t.Errorf("got %v (total %d), want %v", got, total, c.want)
			}
		})
	}

	// Paging: total counts every match, the page is cut by Offset and Limit.
	list, total, err := s.ListDevices(ctx(t), devices.Filter{Offset: 2, Limit: 3})
	if err != nil || total != 6 || !slices.Equal(ids(list), []string{"a2", "a3", "b1"}) {
		t.Errorf("page: %v total %d, %v", ids(list), total, err)
	}
	list, total, err = s.ListDevices(ctx(t), devices.Filter{Offset: 10})
	if err != nil || total != 6 || len(list) != 0 {
		t.Errorf("page past the end: %v total %d, %v", ids(list), total, err)
	}
}

func testListDevicesLimits(t *testing.T, open func(*testing.T) devices.Registry) {
	s := open(t)
	n := MaxListLimit + 5
	ds := make([]*devices.Device, n)
	hs := make([]string, n)
	for i := range ds {
		ds[i] = device(fmt.Sprintf("d%05d", i), "c", "g", "b")
		hs[i] = "h"
	}
	if err := s.ImportDevices(ctx(t), ds, hs); err != nil {
		t.Fatal(err)
	}
	list, total, err := s.ListDevices(ctx(t), devices.Filter{})
	if err != nil || len(list) != DefaultListLimit || total != n {
		t.Errorf("default limit: %d listed, total %d, %v", len(list), total, err)
	}
	list, _, err = s.ListDevices(ctx(t), devices.Filter{Limit: 5000})
	if err != nil || len(list) != MaxListLimit {
		t.Errorf("limit 5000: %d listed, %v; want %d", len(list), err, MaxListLimit)
	}
	if c, ok := s.(interface {
		CountDevices(context.Context) (int, error)
	}); ok {
		if got, err := c.CountDevices(ctx(t)); err != nil || got != n {
			t.Errorf("CountDevices = %d, %v; want %d", got, err, n)
		}
	}
}

func ids(list []*devices.Device) []string {
	out := []string{}
	for _, d := range list {
		out = append(out, d.ID)
	}
	return out
}

func testUpdateHealth(t *testing.T, open func(*testing.T) devices.Registry) {
	s := open(t)
	mustCreate(t, s, device("d1", "c", "g", "b"), device("d2", "c", "g", "b"))

	health := func(id string) devices.Health {
		t.Helper()
		d, err := s.FindDevice(ctx(t), id)
		if err != nil {
			t.Fatal(err)
		}
		return d.Health
	}

	if h := health("d1"); !h.LastSeen.IsZero() || h.Online || h.Battery != nil || h.Signal != nil {
		t.Fatalf("fresh device has health %+v", h)
	}
	err := s.UpdateHealth(ctx(t), []devices.HealthUpdate{
		{ID: "d1", LastSeen: t0, Online: ptr(true), Battery: ptr(90.5), Signal: ptr(-71.0)},
		{ID: "d2", LastSeen: t0.Add(time.Minute), Battery: ptr(40.0)},
		{ID: "deleted-meanwhile", LastSeen: t0, Online: ptr(true)},
	})
	if err != nil {
		t.Fatalf("UpdateHealth: %v", err)
	}
	if h := health("d1"); !h.LastSeen.Equal(t0) || !h.Online || *h.Battery != 90.5 || *h.Signal != -71 {
		t.Errorf("d1 health %+v", h)
	}
	if h := health("d2"); !h.LastSeen.Equal(t0.Add(time.Minute)) || h.Online || *h.Battery != 40 || h.Signal != nil {
		t.Errorf("d2 health %+v", h)
	}

	// Nil pointers keep values; an older LastSeen does not move it back; a
	// zero LastSeen keeps it; later updates in one batch win.
	err = s.UpdateHealth(ctx(t), []devices.HealthUpdate{
		{ID: "d1", LastSeen: t0.Add(-time.Hour), Battery: ptr(89.0)},
		{ID: "d1", Online: ptr(false)},
		{ID: "d2", LastSeen: t0.Add(2 * time.Minute), Signal: ptr(-80.0)},
		{ID: "d2", LastSeen: t0.Add(90 * time.Second)},
	})
	if err != nil {
		t.Fatal(err)
	}
	if h := health("d1"); !h.LastSeen.Equal(t0) || h.Online || *h.Battery != 89 || *h.Signal != -71 {
		t.Errorf("d1 health after partial updates %+v", h)
	}
	if h := health("d2"); !h.LastSeen.Equal(t0.Add(2*time.Minute)) || *h.Battery != 40 || *h.Signal != -80 {
		t.Errorf("d2 health after partial updates %+v", h)
	}
	// An update without a time keeps the one stored; a batch of many
	// devices lands whole.
	batch := []devices.HealthUpdate{{ID: "d2", Battery: ptr(41.0)}}
	for i := range 300 {
		batch = append(batch, devices.HealthUpdate{ID: fmt.Sprintf("none-%03d", i), LastSeen: t0})
	}
	if err := s.UpdateHealth(ctx(t), append(batch, devices.HealthUpdate{ID: "d1", Signal: ptr(-60.0)})); err != nil {
		t.Fatal(err)
	}
	if h := health("d2"); !h.LastSeen.Equal(t0.Add(2*time.Minute)) || *h.Battery != 41 || *h.Signal != -80 {
		t.Errorf("d2 health after an update without a time %+v", h)
	}
	if h := health("d1"); !h.LastSeen.Equal(t0) || *h.Signal != -60 || *h.Battery != 89 {
		t.Errorf("d1 health at the end of a long batch %+v", h)
	}
	// Online moves only by an update at least as new as the one that last
	// set it: a late "offline" (another instance committing an older
	// status after a newer one) does not undo "online".
	for _, u := range []devices.HealthUpdate{
		{ID: "d1", LastSeen: t0.Add(3 * time.Minute), Online: ptr(true)},
		{ID: "d1", LastSeen: t0.Add(150 * time.Second), Online: ptr(false)},
	} {
		if err := s.UpdateHealth(ctx(t), []devices.HealthUpdate{u}); err != nil {
			t.Fatal(err)
		}
	}
	if h := health("d1"); !h.Online || !h.LastSeen.Equal(t0.Add(3*time.Minute)) {
		t.Errorf("d1 health after a late offline %+v, want online", h)
	}
	if err := s.UpdateHealth(ctx(t), []devices.HealthUpdate{{ID: "d1", LastSeen: t0.Add(4 * time.Minute), Online: ptr(false)}}); err != nil {
		t.Fatal(err)
	}
	if h := health("d1"); h.Online {
		t.Errorf("d1 health after a newer offline %+v, want offline", h)
	}
	// Health updates are not installer edits.
	if d, _ := s.FindDevice(ctx(t), "d1"); !d.UpdatedAt.Equal(d.CreatedAt) {
		t.Errorf("UpdateHealth moved UpdatedAt: %v vs %v", d.UpdatedAt, d.CreatedAt)
	}
}

func testUnregistered(t *testing.T, open func(*testing.T) devices.Registry) {
	s := open(t)

	must := func(id, detail string, at time.Time) {
		t.Helper()
		if err := s.RecordUnregistered(ctx(t), id, detail, at); err != nil {
			t.Fatalf("RecordUnregistered: %v", err)
		}
	}
	must("stranger", "connect", t0)
	must("stranger", "publish shouwang/v1/stranger/event", t0.Add(time.Minute))
	must("stranger", "late, out of order", t0.Add(30*time.Second))
	must("newbie", "connect", t0.Add(2*time.Minute))
	wantCode(t, s.RecordUnregistered(ctx(t), "", "x", t0), shouwang.EINVALID)

	list, err := s.ListUnregistered(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	want := []devices.Unregistered{
		{ID: "newbie", FirstSeen: t0.Add(2 * time.Minute), LastSeen: t0.Add(2 * time.Minute), Count: 1, Detail: "connect"},
		{ID: "stranger", FirstSeen: t0, LastSeen: t0.Add(time.Minute), Count: 3, Detail: "publish shouwang/v1/stranger/event"},
	}
	if !reflect.DeepEqual(list, want) {
		t.Errorf("ListUnregistered:\n got %+v\nwant %+v", list, want)
	}

	// Registering removes it from the list, by create and by import.
	mustCreate(t, s, device("stranger", "c", "g", "b"))
	if err := s.ImportDevices(ctx(t), []*devices.Device{device("newbie", "c", "g", "b")}, []string{"h"}); err != nil {
		t.Fatal(err)
	}
	if list, err := s.ListUnregistered(ctx(t)); err != nil || len(list) != 0 {
		t.Errorf("after registering: %+v, %v; want empty", list, err)
	}
	// A late record for a registered ID is not listed either.
	must("newbie", "connect", t0.Add(time.Hour))
	if list, err := s.ListUnregistered(ctx(t)); err != nil || len(list) != 0 {
		t.Errorf("registered id listed as unregistered: %+v, %v", list, err)
	}
}

func testUnregisteredBounded(t *testing.T, open func(*testing.T) devices.Registry) {
	s := open(t)
	const pruneEvery = 64 // the SQL store prunes every 64th call
	n := MaxUnregistered + 2*pruneEvery
	for i := range n {
		if err := s.RecordUnregistered(ctx(t), fmt.Sprintf("spoof-%05d", i), strings.Repeat("x", 1000), t0.Add(time.Duration(i)*time.Second)); err != nil {
			t.Fatal(err)
		}
	}
	if rows := tableRows(t, s, "unregistered"); rows > MaxUnregistered+pruneEvery {
		t.Errorf("%d unregistered rows kept, want at most %d", rows, MaxUnregistered+pruneEvery)
	}
	list, err := s.ListUnregistered(ctx(t))
	if err != nil || len(list) != MaxUnregistered {
		t.Fatalf("listed %d, %v; want %d", len(list), err, MaxUnregistered)
	}
	if list[0].ID != fmt.Sprintf("spoof-%05d", n-1) || len(list[0].Detail) != MaxUnregisteredDetail {
		t.Errorf("newest first and clipped: %s, detail %d bytes", list[0].ID, len(list[0].Detail))
	}
}

// testUnregisteredOddText: what strangers send is kept as valid text
// without NUL (PostgreSQL's TEXT holds none), on every store alike.
func testUnregisteredOddText(t *testing.T, open func(*testing.T) devices.Registry) {
	s := open(t)
	if err := s.RecordUnregistered(ctx(t), "odd\x00one", "bad\xffbytes\x00", t0); err != nil {
		t.Fatal(err)
	}
	list, err := s.ListUnregistered(ctx(t))
	if err != nil || len(list) != 1 || list[0].ID != "odd\uFFFDone" || list[0].Detail != "bad\uFFFDbytes\uFFFD" {
		t.Errorf("a stranger's odd text: %+v, %v", list, err)
	}
}
