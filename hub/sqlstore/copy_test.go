package sqlstore_test

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/shouwang-hub/shouwang"
	"github.com/shouwang-hub/shouwang/accounts"
	"github.com/shouwang-hub/shouwang/alerts"
	"github.com/shouwang-hub/shouwang/devices"
	"github.com/shouwang-hub/shouwang/hub/sqlstore"
)

var c0 = time.Date(2025, 5, 1, 9, 0, 0, 0, time.UTC)

// populate fills a store through its own methods with some of everything.
func populate(t *testing.T, s *sqlstore.Store) {
	t.Helper()
	ctx := context.Background()
	var ds []*devices.Device
	var hs []string
	for i := range 30 {
		ds = append(ds, &devices.Device{ID: fmt.Sprintf("sos-%03d", i), Kind: devices.KindSOSButton,
			Capabilities: []string{devices.CapVoice},
			Location:     devices.Location{Community: "阳光社区", Grid: "网格一", Building: fmt.Sprintf("%d号楼", i%3), Household: fmt.Sprintf("1-%03d", i)},
			Resident:     devices.Resident{Name: "王秀英", BirthYear: 1938, LivesAlone: i%2 == 0},
			Contacts:     []devices.Contact{{Name: "王强", Relation: "儿子", Phone: "139"}}})
		hs = append(hs, fmt.Sprintf("$7$hash-%d", i))
	}
	must(t, s.ImportDevices(ctx, ds, hs))
	online, batt := true, 87.5
	must(t, s.UpdateHealth(ctx, []devices.HealthUpdate{{ID: "sos-001", LastSeen: c0, Online: &online, Battery: &batt}}))
	must(t, s.RecordUnregistered(ctx, "stranger", "connect", c0))
	// The instances' tables (issue 14): a heartbeat, a lease and a call's
	// claim; events stored from here on carry the instance's name.
	s.SetInstance("solo")
	must(t, s.Heartbeat(ctx, "solo", "http://127.0.0.1:8080", c0))
	_, held, err := s.AcquireLease(ctx, "prune", "solo", time.Hour)
	must(t, err)
	if !held {
		t.Fatal("the lease on a fresh store was not granted")
	}
	_, err = s.ClaimCall(ctx, "call-1", "sos-003", "solo")
	must(t, err)
	u, err := s.CreateUser(ctx, "duty1", accounts.RoleOperator, "argon-hash")
	must(t, err)
	must(t, s.CreateToken(ctx, u.ID, accounts.TokenAPI, "cli", "tok-hash", time.Time{}))
	var msgs []*devices.Message
	for i := range 20 {
		msgs = append(msgs, &devices.Message{DeviceID: ds[i].ID, Seq: uint64(i + 1), Channel: devices.ChannelEvent,
			TS: c0.Add(time.Duration(i) * time.Second), Received: c0.Add(time.Duration(i) * time.Second), Event: &devices.Event{Type: devices.EventSOS}})
	}
	_, err = s.RecordEvents(ctx, msgs)
	must(t, err)
	// The vendor tables: a bridge's discovered devices (one supported, one
	// not: a BOOLEAN), refusals and a vendor state.
	must(t, s.SaveDiscovered(ctx, "zigbee2mqtt", []devices.Discovered{
		{IEEE: "0x00124b0001", FriendlyName: "烟感-3栋", Model: "JTYJ-GD-01LM/BW", Supported: true},
		{IEEE: "0x00124b0002", FriendlyName: "Mystery", Model: "X1"},
	}, c0))
	must(t, s.RecordRefusal(ctx, "sos-001", devices.Refusal{At: c0, Reason: devices.ReasonMalformed, Detail: "bad json"}))
	must(t, s.Tx(ctx, func(tx *sqlstore.Tx) error {
		return tx.SaveVendorStates(ctx, map[string]devices.VendorState{"sos-002": {Active: 3}}, c0)
	}))
	for i := range 12 {
		a := &alerts.Alert{Kind: alerts.KindSOS, Severity: alerts.SeverityCritical, State: alerts.StateNew,
			DeviceID: ds[i].ID, Device: *ds[i], OpenedAt: c0.Add(time.Duration(i) * time.Minute), Occurrences: 1, UpdatedAt: c0}
		must(t, s.InTx(ctx, func(tx alerts.Tx) error {
			if err := tx.CreateAlert(ctx, a); err != nil {
				return err
			}
			if err := tx.AddTimeline(ctx, a.ID, alerts.TimelineEntry{At: a.OpenedAt, Actor: alerts.System, Action: alerts.TimelineOpened,
				Data: map[string]string{"seq": "1"}}); err != nil {
				return err
			}
			if err := tx.SetTimer(ctx, alerts.Timer{AlertID: a.ID, Kind: alerts.TimerEscalate1, Due: c0.Add(time.Hour)}); err != nil {
				return err
			}
			if i%3 == 0 {
				if err := tx.EnqueueNotification(ctx, &alerts.Notification{AlertID: a.ID, Level: 2, NextAttempt: c0, Payload: []byte(`{"x":1}`)}); err != nil {
					return err
				}
			}
			_, err := tx.RecordTrigger(ctx, a.DeviceID, uint64(100+i), c0.UnixMilli())
			return err
		}))
		if i%2 == 0 { // accepted in a transaction of its own: a second change
			a.Version++
			a.State, a.Assignee, a.AcceptedAt = alerts.StateAccepted, "duty1", a.OpenedAt.Add(30*time.Second)
			must(t, s.InTx(ctx, func(tx alerts.Tx) error { return tx.UpdateAlert(ctx, a) }))
		}
	}
}

// TestCopySQLiteToPostgres moves a populated SQLite store into PostgreSQL:
// every table arrives whole, the copy reads back alike, the new store goes
// on numbering where the old one stopped, and a second copy into the now
// non-empty database is refused.
func TestCopySQLiteToPostgres(t *testing.T) {
	ctx := context.Background()
	src, dst := openSQLite(t), openPostgres(t)
	populate(t, src)
	rep, err := sqlstore.Copy(ctx, src, dst, 5)
	if err != nil {
		t.Fatalf("Copy: %v", err)
	}
	want, err := src.Counts(ctx)
	must(t, err)
	for table, n := range want {
		if rep.Rows[table] != n {
			t.Errorf("%s: %d rows copied, want %d", table, rep.Rows[table], n)
		}
		if n > 0 && rep.Sampled[table] == 0 {
			t.Errorf("%s: no row compared", table)
		}
	}
	if want["alerts"] != 12 || want["alert_timeline"] != 12 || want["alert_changes"] != 18 || want["devices"] != 30 ||
		want["discovered"] != 2 || want["refusals"] != 1 || want["vendor_state"] != 1 ||
		want["hub_instances"] != 1 || want["hub_leases"] != 1 || want["hub_calls"] != 1 {
		t.Fatalf("populate made %v", want)
	}
	if rep.Records < 5+1+5 {
		t.Errorf("%d records compared, want devices, the account and alerts", rep.Records)
	}

	// The copy works as a store: the vendor records read back, the token
	// authenticates, numbering goes on.
	if a, b := listDiscovered(t, src), listDiscovered(t, dst); !reflect.DeepEqual(a, b) || len(a) != 2 {
		t.Errorf("discovered after the copy: %+v, want %+v", b, a)
	}
	if rs, err := dst.ListRefusals(ctx, "sos-001"); err != nil || len(rs) != 1 || rs[0].Detail != "bad json" || !rs[0].At.Equal(c0) {
		t.Errorf("refusals after the copy: %+v, %v", rs, err)
	}
	if u, _, err := dst.UserByToken(ctx, "tok-hash", c0); err != nil || u.Username != "duty1" {
		t.Errorf("the copied token: %+v, %v", u, err)
	}
	u, err := dst.CreateUser(ctx, "duty2", accounts.RoleOperator, "h")
	must(t, err)
	if u.ID != 2 {
		t.Errorf("a new user after the copy got id %d, want 2", u.ID)
	}
	d, _ := dst.FindDevice(ctx, "sos-012")
	a := &alerts.Alert{Kind: alerts.KindSOS, Severity: alerts.SeverityCritical, State: alerts.StateNew,
		DeviceID: d.ID, Device: *d, OpenedAt: c0, Occurrences: 1}
	must(t, dst.InTx(ctx, func(tx alerts.Tx) error {
		if err := tx.CreateAlert(ctx, a); err != nil {
			return err
		}
		return tx.AddTimeline(ctx, a.ID, alerts.TimelineEntry{At: c0, Actor: alerts.System, Action: alerts.TimelineOpened})
	}))
	if a.ID != 13 {
		t.Errorf("a new alert after the copy got id %d, want 13", a.ID)
	}
	if last, err := dst.LastChangeSeq(ctx); err != nil || last != 19 {
		t.Errorf("the feed after the copy ends at %d (%v), want 19", last, err)
	}
	got, err := dst.FindAlert(ctx, a.ID)
	if err != nil || len(got.Timeline) != 1 || got.Timeline[0].ID != 13 {
		t.Errorf("the new alert's timeline: %+v, %v", got, err)
	}

	// The instances' rows work on the copy: the call's owner and the
	// lease's holder and epoch carry over (another holder is refused
	// while it lasts), and the events know which instance stored them.
	if owner, url, err := dst.CallOwner(ctx, "call-1"); err != nil || owner != "solo" || url != "http://127.0.0.1:8080" {
		t.Errorf("the copied call claim: %q at %q, %v", owner, url, err)
	}
	if _, held, err := dst.AcquireLease(ctx, "prune", "other", time.Minute); err != nil || held {
		t.Errorf("the copied lease was granted to another holder (%v, %v)", held, err)
	}
	if l, held, err := dst.AcquireLease(ctx, "prune", "solo", time.Minute); err != nil || !held || l.Epoch != 1 {
		t.Errorf("the copied lease renewed by its holder: %+v, %v, %v", l, held, err)
	}
	if ins, _, err := dst.Instances(ctx); err != nil || len(ins) != 1 || ins[0].Name != "solo" || len(ins[0].Leases) != 1 {
		t.Errorf("the copied instances: %+v, %v", ins, err)
	}
	must(t, dst.Tx(ctx, func(tx *sqlstore.Tx) error {
		inst, err := tx.EventInstance(ctx, "sos-000", 1, c0.UnixMilli())
		if err == nil && inst != "solo" {
			t.Errorf("the copied event was stored by %q, want solo", inst)
		}
		return err
	}))

	// Copying into a store that holds data is refused, and changes nothing.
	_, err = sqlstore.Copy(ctx, src, dst, 5)
	if err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Errorf("second copy: %v", err)
	}
	if n, _ := dst.Counts(ctx); n["alerts"] != 13 {
		t.Errorf("after the refused copy the destination has %d alerts", n["alerts"])
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(shouwang.ErrorMessage(err), err)
	}
}

func listDiscovered(t *testing.T, s *sqlstore.Store) []devices.Discovered {
	t.Helper()
	ds, err := s.ListDiscovered(context.Background(), "zigbee2mqtt")
	must(t, err)
	return ds
}
