package sim

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/shouwang-hub/shouwang/devices"
)

// DefaultGasLeak is the rising reading of a leak, in % of the lower explosive
// limit: it crosses GasAlarmLEL on the fourth step.
var DefaultGasLeak = []float64{2, 5, 8, 12, 18, 25}

// Press presses an emergency call button: an sos event. It returns the
// event's sequence number once the broker has acknowledged it.
func (s *Sim) Press(id string) (uint64, error) { return s.event(id, devices.EventSOS) }

// Checkin presses an emergency call button's check-in: a checkin event,
// the resident's "I am fine" for the day.
func (s *Sim) Checkin(id string) (uint64, error) { return s.event(id, devices.EventCheckin) }

// Test sends a commissioning test event ({"type":"test"}), which the hub
// records but never counts as a real alert. Every kind may send it.
func (s *Sim) Test(id string) (uint64, error) { return s.event(id, devices.EventTest) }

// Smoke puts a smoke detector into alarm: a smoke event, and its telemetry
// reports dense smoke until SmokeClear.
func (s *Sim) Smoke(id string) (uint64, error) {
	d, err := s.sensor(id, devices.KindSmoke)
	if err != nil {
		return 0, err
	}
	d.mu.Lock()
	d.state.pin("smoke", smokeAlarm)
	d.mu.Unlock()
	return d.publishEvent(devices.EventSmoke, nil)
}

// SmokeClear ends a smoke alarm: a smoke_clear event, and the readings fall
// back to a quiet room's.
func (s *Sim) SmokeClear(id string) (uint64, error) {
	d, err := s.sensor(id, devices.KindSmoke)
	if err != nil {
		return 0, err
	}
	d.mu.Lock()
	d.state.unpin("smoke")
	d.mu.Unlock()
	return d.publishEvent(devices.EventSmokeClear, nil)
}

// GasLeak plays a gas leak on a gas detector: for each level in turn it
// publishes telemetry with that lel reading, then waits step. The first
// level at or above GasAlarmLEL also raises a gas event carrying the
// reading; a level that falls back below it after an alarm sends gas_clear.
// The reading stays at the last level until GasClear. GasLeak returns when
// the last level is sent, or early with ctx's error.
func (s *Sim) GasLeak(ctx context.Context, id string, levels []float64, step time.Duration) error {
	d, err := s.sensor(id, devices.KindGas)
	if err != nil {
		return err
	}
	f, _ := devices.Spec(devices.KindGas).Field("lel")
	for i, lel := range levels {
		if lel < f.Min || lel > f.Max || math.IsNaN(lel) {
			return fmt.Errorf("gas leak: levels[%d] %g: must be between %g and %g", i, lel, f.Min, f.Max)
		}
	}
	for i, lel := range levels {
		if i > 0 && !sleep(ctx, step) {
			return ctx.Err()
		}
		d.mu.Lock()
		d.state.pin("lel", lel)
		d.mu.Unlock()
		if _, err := d.publishTelemetry(); err != nil {
			return fmt.Errorf("gas leak: %w", err)
		}
		d.mu.Lock()
		alarmed := d.gas
		d.gas = lel >= GasAlarmLEL
		d.mu.Unlock()
		switch {
		case lel >= GasAlarmLEL && !alarmed:
			_, err = d.publishEvent(devices.EventGas, &lel)
		case lel < GasAlarmLEL && alarmed:
			_, err = d.publishEvent(devices.EventGasClear, &lel)
		}
		if err != nil {
			return fmt.Errorf("gas leak: %w", err)
		}
	}
	return nil
}

// GasClear ends a leak: the reading falls back to a clean kitchen's and the
// detector sends gas_clear.
func (s *Sim) GasClear(id string) (uint64, error) {
	d, err := s.sensor(id, devices.KindGas)
	if err != nil {
		return 0, err
	}
	d.mu.Lock()
	d.gas = false
	d.state.unpin("lel")
	lel := d.state.values["lel"]
	d.mu.Unlock()
	return d.publishEvent(devices.EventGasClear, &lel)
}

// Silence makes a device go dark as if its power failed: its network
// connection is dropped without an MQTT DISCONNECT, so the broker publishes
// its last will (status offline; EventsOnly devices have none), and it
// publishes nothing until Resume.
func (s *Sim) Silence(id string) error {
	d, err := s.device(id)
	if err != nil {
		return err
	}
	d.silence()
	return nil
}

// Resume brings a silenced device back: it reconnects and announces itself
// online. It returns once the device is connected.
func (s *Sim) Resume(id string) error {
	d, err := s.device(id)
	if err != nil {
		return err
	}
	if s.closing.Load() {
		return ErrClosed
	}
	return d.resume(s.ctx)
}

// Received returns the downlink payloads the device has received on its
// cmd topic, oldest first (at most the latest 256); nil for an unknown
// device.
func (s *Sim) Received(id string) [][]byte {
	d, ok := s.devs[id]
	if !ok {
		return nil
	}
	d.recvMu.Lock()
	defer d.recvMu.Unlock()
	out := make([][]byte, len(d.received))
	for i, p := range d.received {
		out[i] = append([]byte(nil), p...)
	}
	return out
}

// Publish sends a raw payload on one of the device's own topics, QoS 1, not
// retained and without touching its sequence counter: for tests that need
// bad or hand-made messages. It returns once the broker acknowledged it.
func (s *Sim) Publish(id string, ch devices.Channel, payload []byte) error {
	d, err := s.device(id)
	if err != nil {
		return err
	}
	d.mu.Lock()
	c := d.client
	silenced := d.silenced
	d.mu.Unlock()
	switch {
	case silenced:
		return fmt.Errorf("device %s: %w", id, ErrSilenced)
	case c == nil:
		return fmt.Errorf("device %s: %w", id, ErrNotConnected)
	}
	if err := s.count(ch, c.Publish(devices.Topic(id, ch), 1, false, payload)); err != nil {
		return fmt.Errorf("device %s: publish %s: %w", id, ch, err)
	}
	return nil
}

// event publishes an event of type typ, if the device's kind sends it.
func (s *Sim) event(id string, typ devices.EventType) (uint64, error) {
	d, err := s.device(id)
	if err != nil {
		return 0, err
	}
	if !devices.Spec(d.kind).AllowsEvent(typ) {
		return 0, fmt.Errorf("device %s: a %s does not send %s events: %w", id, d.kind, typ, ErrWrongKind)
	}
	return d.publishEvent(typ, nil)
}

func (s *Sim) sensor(id string, k devices.Kind) (*device, error) {
	d, err := s.device(id)
	if err != nil {
		return nil, err
	}
	if d.kind != k {
		return nil, fmt.Errorf("device %s is a %s, not a %s: %w", id, d.kind, k, ErrWrongKind)
	}
	return d, nil
}

// OneShot sends the single event a trigger action names — press, checkin,
// test, smoke, smoke-clear or gas-clear — and returns its sequence number;
// ok is false for any other action, which the caller handles itself.
func (s *Sim) OneShot(action, id string) (seq uint64, ok bool, err error) {
	send := map[string]func(string) (uint64, error){
		"press": s.Press, "checkin": s.Checkin, "test": s.Test, "smoke": s.Smoke, "smoke-clear": s.SmokeClear, "gas-clear": s.GasClear,
	}[action]
	if send == nil {
		return 0, false, nil
	}
	seq, err = send(id)
	return seq, true, err
}
