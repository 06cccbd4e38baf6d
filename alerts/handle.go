package alerts

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/shouwang-hub/shouwang"
	"github.com/shouwang-hub/shouwang/devices"
)

// handling is the work of one device message, or of a supervision
// verdict, for one device.
type handling struct {
	*op
	d      *devices.Device
	rules  DeviceRules
	open   []*Alert // the device's open alerts, read once
	loaded bool
}

func (s *Service) newHandling(ctx context.Context, tx Tx, d *devices.Device, now time.Time) *handling {
	return &handling{op: s.newOp(ctx, tx, now), d: d, rules: s.rules.For(d)}
}

// HandleMessage applies one newly stored device message (event, status or
// telemetry) inside tx; m.Received is the time it happens at. The caller
// de-duplicates: it calls this once per stored event and records a trigger
// (Tx.RecordTrigger) for telemetry before calling it.
//
// Events open or join alerts and are acknowledged (a check-in and an SOS
// press are also the household's sign of life); telemetry opens, joins,
// raises or clears gas, air and battery alerts; and any message but a last
// will marks an open offline alert cleared. A last will (status offline)
// opens nothing here: the device has its grace time to come back, and
// supervision (Supervisor.Will, Offline) decides after it.
func (s *Service) HandleMessage(ctx context.Context, tx Tx, d *devices.Device, m *devices.Message) (Result, error) {
	if d == nil || m == nil {
		return Result{}, shouwang.Errorf(shouwang.EINVALID, "handle message: missing device or message")
	}
	h := s.newHandling(ctx, tx, d, m.Received)
	var err error
	switch {
	case m.Event != nil:
		err = h.event(m)
	case m.Telemetry != nil:
		err = h.telemetry(m)
	case m.Status != nil:
		err = h.status(m)
	}
	if err != nil {
		return Result{}, fmt.Errorf("device %s: %w", d.ID, err)
	}
	return h.result()
}

func (h *handling) event(m *devices.Message) error {
	ev := m.Event
	actor := deviceActor(h.d.ID)
	data := map[string]string{"event": string(ev.Type), "seq": strconv.FormatUint(m.Seq, 10)}
	if ev.LEL != nil {
		data["lel"] = fmtF(*ev.LEL)
	}
	if err := h.returned("event"); err != nil {
		return err
	}
	if ev.Test || ev.Type == devices.EventTest {
		return h.test(m, data)
	}
	var (
		a   *Alert
		err error
	)
	switch ev.Type {
	case devices.EventCheckin:
		return h.checkin(m)
	case devices.EventSOS:
		if err := h.activity(m.Time(), HowPress); err != nil {
			return err
		}
		a, err = h.occur(KindSOS, severityOf(KindSOS), nil, actor, data)
	case devices.EventSmoke, devices.EventCO, devices.EventFault, devices.EventTamper:
		k := eventKind(ev.Type)
		a, err = h.occur(k, severityOf(k), nil, actor, data)
	case devices.EventGas:
		if ev.Severe {
			// The device's own highest grade (Shelly Gas "heavy").
			data["grade"] = "severe"
			a, err = h.occur(KindGasHigh, severityOf(KindGasHigh), ev.LEL, actor, data)
		} else {
			a, err = h.gas(ev.LEL, true, data)
		}
	case devices.EventSmokeClear, devices.EventGasClear, devices.EventCOClear, devices.EventFaultClear:
		if a, err = h.openFamily(eventKind(ev.Type).Family()); err == nil && a != nil {
			err = h.clear(a, actor, data)
		}
	case devices.EventLowBattery:
		a, err = h.battery(nil, data)
	}
	if err != nil || a == nil {
		return err
	}
	return h.ack(a, ackPayload{Type: "ack", Seq: m.Seq, Alert: a.ID})
}

// test records a commissioning test: a closed alert marked Test, never a
// real one, acknowledged so the installer sees the device was heard.
func (h *handling) test(m *devices.Message, data map[string]string) error {
	k := h.testKind(m.Event)
	a := newAlert(h.d, k, severityOf(k), h.now, m.Event.LEL)
	a.Test, a.Priority = true, priorityTest
	a.State, a.Outcome = StateClosed, OutcomeTest
	a.ResolvedAt, a.ClosedAt = h.now, h.now
	if err := h.create(a); err != nil {
		return err
	}
	if err := h.log(a, deviceActor(h.d.ID), TimelineTest, "", data); err != nil {
		return err
	}
	return h.ack(a, ackPayload{Type: "ack", Seq: m.Seq, Alert: a.ID})
}

// testKind is the kind a test is recorded as: what the event would open,
// or for a plain test (and a low-battery one, which would only latch) the
// alarm the device exists to raise.
func (h *handling) testKind(ev *devices.Event) Kind {
	if k := eventKind(ev.Type); k != "" && k != KindLowBattery {
		if k == KindGasLow && ev.LEL != nil && *ev.LEL >= h.rules.Gas.High {
			return KindGasHigh
		}
		return k
	}
	switch h.d.Kind {
	case devices.KindSmoke:
		return KindSmoke
	case devices.KindGas:
		return KindGasHigh
	case devices.KindCO:
		return KindCO
	case devices.KindAir:
		return KindAirQuality
	}
	return KindSOS
}

// eventKind is the alert kind an event type is about ("" for test).
func eventKind(t devices.EventType) Kind {
	switch t {
	case devices.EventSOS:
		return KindSOS
	case devices.EventSmoke, devices.EventSmokeClear:
		return KindSmoke
	case devices.EventGas, devices.EventGasClear:
		return KindGasLow
	case devices.EventCO, devices.EventCOClear:
		return KindCO
	case devices.EventFault, devices.EventFaultClear:
		return KindFault
	case devices.EventTamper:
		return KindTamper
	case devices.EventLowBattery:
		return KindLowBattery
	}
	return ""
}

func (h *handling) telemetry(m *devices.Message) error {
	f := m.Telemetry.Fields
	if err := h.returned("telemetry"); err != nil {
		return err
	}
	if v, ok := f["lel"]; ok && h.d.Kind == devices.KindGas {
		if _, err := h.gas(&v, false, map[string]string{"field": "lel", "value": fmtF(v), "seq": strconv.FormatUint(m.Seq, 10)}); err != nil {
			return err
		}
	}
	if h.d.Kind == devices.KindAir {
		if err := h.air(f, strconv.FormatUint(m.Seq, 10)); err != nil {
			return err
		}
	}
	if v, ok := f["battery"]; ok {
		if _, err := h.battery(&v, map[string]string{"field": "battery", "value": fmtF(v), "seq": strconv.FormatUint(m.Seq, 10)}); err != nil {
			return err
		}
	}
	return nil
}

func (h *handling) status(m *devices.Message) error {
	st := m.Status
	if st.Online {
		if err := h.returned("status online"); err != nil {
			return err
		}
	}
	if st.Battery != nil {
		v := *st.Battery
		if _, err := h.battery(&v, map[string]string{"field": "battery", "value": fmtF(v), "status": statusWord(st.Online)}); err != nil {
			return err
		}
	}
	return nil
}

func statusWord(online bool) string {
	if online {
		return "online"
	}
	return "offline"
}

// HandleDuplicate answers a redelivered event that was already stored: it
// returns the acknowledgement to send again, naming the alert the event
// joined (the device's open alert of that family, else its latest), and
// changes nothing.
func (s *Service) HandleDuplicate(ctx context.Context, tx Tx, d *devices.Device, m *devices.Message) ([]DeviceAck, error) {
	if d == nil || m == nil || m.Event == nil {
		return nil, nil
	}
	h := s.newHandling(ctx, tx, d, m.Received)
	ev := m.Event
	if ev.Type == devices.EventCheckin && !ev.Test {
		if err := h.checkin(m); err != nil {
			return nil, err
		}
		return h.acks, nil
	}
	var kinds []Kind
	test := ev.Test || ev.Type == devices.EventTest
	switch k := eventKind(ev.Type); {
	case test:
		kinds = []Kind{h.testKind(ev)}
	case k == KindGasLow:
		kinds = []Kind{KindGasLow, KindGasHigh}
	case k != "":
		kinds = []Kind{k}
	default:
		return nil, nil
	}
	var found *Alert
	if !test && kinds[0] != KindLowBattery {
		var err error
		if found, err = h.openFamily(kinds[0].Family()); err != nil {
			return nil, fmt.Errorf("device %s: %w", d.ID, err)
		}
	}
	if found == nil {
		for _, k := range kinds {
			a, err := tx.LatestAlert(ctx, d.ID, k)
			switch {
			case notFound(err):
				continue
			case err != nil:
				return nil, fmt.Errorf("device %s: read latest %s alert: %w", d.ID, k, err)
			}
			if a.Test == test && (found == nil || a.ID > found.ID) {
				found = a
			}
		}
	}
	if found == nil {
		return nil, nil
	}
	b, err := json.Marshal(ackPayload{Type: "ack", Seq: m.Seq, Alert: found.ID})
	if err != nil {
		return nil, fmt.Errorf("encode acknowledgement: %w", err)
	}
	return []DeviceAck{{DeviceID: d.ID, Payload: b}}, nil
}
