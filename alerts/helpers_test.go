package alerts_test

import (
	"context"
	"testing"
	"time"

	"github.com/shouwang-hub/shouwang"
	"github.com/shouwang-hub/shouwang/alerts"
	"github.com/shouwang-hub/shouwang/alerts/alertstest"
	"github.com/shouwang-hub/shouwang/devices"
)

// t0 is when every test's story starts.
var t0 = time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)

func at(d time.Duration) time.Time { return t0.Add(d) }

// device returns a registered device of kind for tests.
func device(id string, kind devices.Kind, alone bool) *devices.Device {
	return &devices.Device{
		ID: id, Kind: kind,
		Location:   devices.Location{Community: "Willow Lane", Grid: "G3", Building: "7", Unit: "2", Floor: "5", Household: "502"},
		Resident:   devices.Resident{Name: "Resident of " + id, LivesAlone: alone},
		Contacts:   []devices.Contact{{Name: "Daughter", Phone: "13800000000"}},
		GridWorker: devices.GridWorker{Name: "Zhang", Phone: "13900000000"},
		Health:     devices.Health{Online: true},
	}
}

func eventMsg(d *devices.Device, seq uint64, typ devices.EventType, when time.Time) *devices.Message {
	return &devices.Message{DeviceID: d.ID, Kind: d.Kind, Channel: devices.ChannelEvent, Seq: seq,
		TS: when, Received: when, Event: &devices.Event{Type: typ, Test: typ == devices.EventTest}}
}

func telemetryMsg(d *devices.Device, seq uint64, fields map[string]float64, when time.Time) *devices.Message {
	return &devices.Message{DeviceID: d.ID, Kind: d.Kind, Channel: devices.ChannelTelemetry, Seq: seq,
		TS: when, Received: when, Telemetry: &devices.Telemetry{Fields: fields}}
}

func statusMsg(d *devices.Device, online bool, when time.Time) *devices.Message {
	return &devices.Message{DeviceID: d.ID, Kind: d.Kind, Channel: devices.ChannelStatus,
		Received: when, Status: &devices.Status{Online: online}}
}

// env is a Service on an in-memory store.
type env struct {
	t     testing.TB
	svc   *alerts.Service
	store *alertstest.Store
}

func newEnv(t testing.TB, cfg alerts.Config) *env {
	t.Helper()
	svc, err := alerts.NewService(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &env{t: t, svc: svc, store: alertstest.New()}
}

func (e *env) handle(d *devices.Device, m *devices.Message) alerts.Result {
	e.t.Helper()
	var res alerts.Result
	err := e.store.InTx(context.Background(), func(tx alerts.Tx) error {
		var err error
		res, err = e.svc.HandleMessage(context.Background(), tx, d, m)
		return err
	})
	if err != nil {
		e.t.Fatalf("HandleMessage: %v", err)
	}
	return res
}

func (e *env) transition(req alerts.TransitionRequest, now time.Time) (*alerts.Alert, []alerts.DeviceAck, error) {
	var (
		a    *alerts.Alert
		acks []alerts.DeviceAck
	)
	err := e.store.InTx(context.Background(), func(tx alerts.Tx) error {
		var err error
		a, acks, err = e.svc.Transition(context.Background(), tx, req, now)
		return err
	})
	return a, acks, err
}

// mustTransition applies a transition that must succeed.
func (e *env) mustTransition(id int64, action alerts.Action, now time.Time, opts ...func(*alerts.TransitionRequest)) *alerts.Alert {
	e.t.Helper()
	req := alerts.TransitionRequest{AlertID: id, Action: action, Actor: alerts.Actor{Name: "li", Role: "supervisor"}}
	switch action {
	case alerts.ActionDispatch:
		req.DispatchTo = "grid worker Zhang"
	case alerts.ActionResolve:
		req.Outcome = alerts.OutcomeGenuine
	case alerts.ActionNote:
		req.Note = "called the daughter"
	}
	for _, o := range opts {
		o(&req)
	}
	a, _, err := e.transition(req, now)
	if err != nil {
		e.t.Fatalf("%s alert %d: %v", action, id, err)
	}
	return a
}

// fire fires one timer in its own transaction.
func (e *env) fire(tm alerts.Timer, now time.Time) *alerts.Alert {
	e.t.Helper()
	var a *alerts.Alert
	err := e.store.InTx(context.Background(), func(tx alerts.Tx) error {
		var err error
		a, err = e.svc.FireTimer(context.Background(), tx, tm, now)
		return err
	})
	if err != nil {
		e.t.Fatalf("FireTimer %+v: %v", tm, err)
	}
	return a
}

// fireDue fires every timer due at now, as the hub's timer runner does,
// and returns how many alerts changed.
func (e *env) fireDue(now time.Time) int {
	e.t.Helper()
	due, err := e.store.DueTimers(context.Background(), now, 0)
	if err != nil {
		e.t.Fatal(err)
	}
	n := 0
	for _, tm := range due {
		if e.fire(tm, now) != nil {
			n++
		}
	}
	return n
}

func (e *env) alert(id int64) *alerts.Alert {
	e.t.Helper()
	a, err := e.store.FindAlert(context.Background(), id)
	if err != nil {
		e.t.Fatal(err)
	}
	return a
}

func actions(a *alerts.Alert) []string {
	var out []string
	for _, e := range a.Timeline {
		out = append(out, e.Action)
	}
	return out
}

func errCode(err error) string { return shouwang.ErrorCode(err) }

// routes is a Directory for tests: each party's recipients by channel, a
// phone standing for "the household's" — the grid worker's registered
// number for grid_worker, each opted-in contact's for family.
type routes map[string][]alerts.Recipient

const household = "household"

func (r routes) Recipients(party string, a *alerts.Alert) ([]alerts.Recipient, string) {
	rs, ok := r[party]
	if !ok {
		return nil, alerts.NotConfigured
	}
	var out []alerts.Recipient
	for _, x := range rs {
		x.Party = party
		if x.To != household {
			out = append(out, x)
			continue
		}
		switch party {
		case alerts.PartyGridWorker:
			if a.Device.GridWorker.Phone == "" {
				return nil, alerts.NoPhone
			}
			x.To = a.Device.GridWorker.Phone
			out = append(out, x)
		case alerts.PartyFamily:
			for _, c := range a.Device.Contacts {
				if c.NotifySOS {
					x.To = c.Phone
					out = append(out, x)
				}
			}
		}
	}
	return out, alerts.NoRecipient
}

// webhookRoutes tell the street's duty leader on the webhook channel, as
// -webhook-url alone configures the hub.
var webhookRoutes = routes{alerts.PartyStreetLeader: {{Channel: "webhook"}}}
