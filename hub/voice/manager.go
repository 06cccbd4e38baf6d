package voice

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/webrtc/v3"

	"github.com/shouwang-hub/shouwang"
)

// historySize is how many ended calls Call still answers for, and how far
// back a redelivered offer is recognised as a duplicate.
const historySize = 1024

// signalTimeout bounds a hang-up sent from a call's own goroutine, where no
// caller's context applies.
const signalTimeout = 5 * time.Second

// Manager answers devices' calls, connects operators to them, relays and
// records their audio.
type Manager struct {
	cfg Config
	log *slog.Logger
	api *webrtc.API
	ice webrtc.Configuration

	mu      sync.Mutex
	closed  bool
	calls   map[string]*call    // being set up, ringing or answered
	ended   map[string]CallInfo // the last historySize ended calls
	endedQ  []string            // ended's keys, oldest first
	wg      sync.WaitGroup      // one per call: its supervisor
	closeMu sync.Once

	total, busy, refused            atomic.Uint64
	toConsole, toDevice             atomic.Uint64
	lostFromDevice, lostFromConsole atomic.Uint64
	released                        atomic.Uint64
}

// New checks cfg (naming the bad field), fills its defaults and builds the
// WebRTC API. It starts nothing: goroutines start with calls.
func New(cfg Config, logger *slog.Logger) (*Manager, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("voice config: %w", err)
	}
	if err := os.MkdirAll(filepath.Join(cfg.DataDir, "calls"), 0o750); err != nil {
		return nil, fmt.Errorf("DataDir: %w", err)
	}
	api, err := newAPI(cfg, logger)
	if err != nil {
		return nil, fmt.Errorf("webrtc: %w", err)
	}
	return &Manager{cfg: cfg, log: logger, api: api, ice: iceConfig(cfg),
		calls: map[string]*call{}, ended: map[string]CallInfo{}}, nil
}

// DeviceMessage handles a device's message on its call topics: sub is
// "offer" or "hangup". The hub has already checked that the device may
// call. A bad payload or SDP returns a *shouwang.Error EINVALID, and the
// device is told (call/hangup reason refused) when its call id is readable.
// An offer beyond MaxCalls is answered with reason busy and returns nil;
// a redelivered offer for a call already known is ignored; a call id in
// use by another device, or left on disk by an earlier run, is ECONFLICT.
// An offer returns once the answer is sent and the call rings; a hang-up
// once the call has ended (a device's reason "timeout" or "error" becomes
// the EndReason, anything else is "hangup"; EndedBy is "device").
func (m *Manager) DeviceMessage(ctx context.Context, deviceID, sub string, payload []byte) error {
	switch sub {
	case "offer":
		return m.offer(ctx, deviceID, payload)
	case "hangup":
		return m.deviceHangup(ctx, deviceID, payload)
	default:
		return shouwang.Errorf(shouwang.EINVALID, "unknown call message %q", sub)
	}
}

func (m *Manager) offer(ctx context.Context, deviceID string, payload []byte) error {
	var msg offerMsg
	err := decode(payload, &msg, func() string { return msg.Call })
	if err == nil {
		err = checkOffer(msg.SDP)
	}
	if err != nil {
		m.refused.Add(1)
		if ValidCallID(msg.Call) {
			m.sendHangup(ctx, deviceID, msg.Call, reasonRefused)
		}
		return err
	}

	c, outcome, err := m.reserve(deviceID, msg.Call)
	switch outcome {
	case reserved:
		return c.start(ctx, msg.SDP)
	case busy:
		m.sendHangup(ctx, deviceID, msg.Call, reasonBusy)
	case refusedID:
		m.sendHangup(ctx, deviceID, msg.Call, reasonRefused)
	}
	return err
}

// Outcomes of reserve.
const (
	reserved  = iota // a new call, being set up
	duplicate        // a redelivered offer: ignored
	busy             // MaxCalls reached, or shutting down
	refusedID        // the call id is another device's
)

// reserve registers a new call in the set-up state and starts its
// supervisor, or says why not.
func (m *Manager) reserve(deviceID, id string) (*call, int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	owner := ""
	if c, ok := m.calls[id]; ok {
		owner = c.deviceID
	} else if ci, ok := m.ended[id]; ok {
		owner = ci.DeviceID
	}
	switch {
	case owner == deviceID:
		m.log.Debug("duplicate call offer ignored", "device", deviceID, "call", id)
		return nil, duplicate, nil
	case owner != "":
		m.refused.Add(1)
		return nil, refusedID, shouwang.Errorf(shouwang.ECONFLICT, "call id %s is in use by another device", id)
	case m.closed:
		return nil, busy, shouwang.Errorf(shouwang.ECONFLICT, "the hub is shutting down")
	case len(m.calls) >= m.cfg.MaxCalls:
		m.busy.Add(1)
		m.log.Warn("call refused: busy", "device", deviceID, "call", id, "max_calls", m.cfg.MaxCalls)
		return nil, busy, nil
	}
	c := newCall(m, deviceID, id)
	m.calls[id] = c
	m.total.Add(1)
	m.wg.Add(1)
	go c.supervise()
	return c, reserved, nil
}

func (m *Manager) deviceHangup(ctx context.Context, deviceID string, payload []byte) error {
	var msg hangupMsg
	if err := decode(payload, &msg, func() string { return msg.Call }); err != nil {
		return err
	}
	m.mu.Lock()
	c := m.calls[msg.Call]
	m.mu.Unlock()
	if c == nil || c.deviceID != deviceID {
		m.log.Debug("hang-up for no call of this device", "device", deviceID, "call", msg.Call)
		return nil
	}
	reason := EndHangup
	if msg.Reason == reasonTimeout || msg.Reason == reasonError {
		reason = msg.Reason
	}
	c.requestEnd(reason, EndedByDevice, false)
	return c.wait(ctx)
}

// Answer connects an operator's browser to a ringing call: offerSDP is the
// browser's offer, the result the hub's answer (ICE gathered, non-trickle).
// Errors: ENOTFOUND for an unknown call, ECONFLICT for one answered (naming
// who answered) or ended, EINVALID for a bad SDP (the call keeps ringing).
func (m *Manager) Answer(ctx context.Context, callID, operator, offerSDP string) (string, error) {
	if operator == "" {
		return "", shouwang.Errorf(shouwang.EINVALID, "an operator is required to answer")
	}
	if err := checkOffer(offerSDP); err != nil {
		return "", err
	}
	c, err := m.find(callID)
	if err != nil {
		return "", err
	}
	return c.answer(ctx, operator, offerSDP)
}

// Hangup ends a call on every side: the device is told (call/hangup reason
// hangup) and the operator's connection closed. It returns when the call
// has ended; hanging up an ended call does nothing.
func (m *Manager) Hangup(ctx context.Context, callID, by string) error {
	c, err := m.find(callID)
	if err != nil {
		if shouwang.ErrorCode(err) == shouwang.ECONFLICT { // ended already
			return nil
		}
		return err
	}
	c.requestEnd(EndHangup, by, true)
	return c.wait(ctx)
}

// find returns a ringing or answered call, ENOTFOUND or ECONFLICT (ended).
func (m *Manager) find(id string) (*call, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if c, ok := m.calls[id]; ok && c.visible() {
		return c, nil
	}
	if _, ok := m.ended[id]; ok {
		return nil, shouwang.Errorf(shouwang.ECONFLICT, "call %s has ended", id)
	}
	return nil, shouwang.Errorf(shouwang.ENOTFOUND, "call %q not found", id)
}

// Call returns a call, ringing, answered or recently ended.
func (m *Manager) Call(id string) (CallInfo, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if c, ok := m.calls[id]; ok && c.visible() {
		return c.info(), true
	}
	ci, ok := m.ended[id]
	return ci.clone(), ok
}

// Calls returns the ringing and answered calls, oldest first.
func (m *Manager) Calls() []CallInfo {
	m.mu.Lock()
	out := make([]CallInfo, 0, len(m.calls))
	for _, c := range m.calls {
		if c.visible() {
			out = append(out, c.info())
		}
	}
	m.mu.Unlock()
	slices.SortFunc(out, func(a, b CallInfo) int {
		return cmp.Or(a.StartedAt.Compare(b.StartedAt), cmp.Compare(a.ID, b.ID))
	})
	return out
}

// Stats returns the manager's counters.
func (m *Manager) Stats() Stats {
	m.mu.Lock()
	active := len(m.calls)
	m.mu.Unlock()
	return Stats{
		Active: active, Total: m.total.Load(), Busy: m.busy.Load(), Refused: m.refused.Load(),
		DeviceToConsole: m.toConsole.Load(), ConsoleToDevice: m.toDevice.Load(),
		LostFromDevice: m.lostFromDevice.Load(), LostFromConsole: m.lostFromConsole.Load(),
		Released: m.released.Load(),
	}
}

// Close ends every call (reason shutdown; devices are told), closes the
// recordings and waits for every goroutine the manager started. Close the
// manager before the Signaller's MQTT client so the hang-ups go out.
func (m *Manager) Close() {
	m.closeMu.Do(func() {
		m.mu.Lock()
		m.closed = true
		calls := make([]*call, 0, len(m.calls))
		for _, c := range m.calls {
			calls = append(calls, c)
		}
		m.mu.Unlock()
		for _, c := range calls {
			c.requestEnd(EndShutdown, "", true)
		}
		m.wg.Wait()
	})
}

// retire moves an ended call from the active set to the history.
func (m *Manager) retire(c *call, ci CallInfo, keep bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.calls, c.id)
	if !keep {
		return
	}
	m.ended[c.id] = ci
	m.endedQ = append(m.endedQ, c.id)
	if len(m.endedQ) > historySize {
		delete(m.ended, m.endedQ[0])
		m.endedQ = slices.Delete(m.endedQ, 0, 1)
	}
}

// sendHangup tells a device its call is over; failures are logged (the
// device gives up by itself when the hub goes quiet).
func (m *Manager) sendHangup(ctx context.Context, deviceID, id, reason string) {
	b, _ := json.Marshal(hangupMsg{Call: id, Reason: reason})
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), signalTimeout)
	defer cancel()
	if err := m.cfg.Signaller.SendToDevice(ctx, deviceID, "hangup", b); err != nil {
		m.log.Warn("send call hang-up", "device", deviceID, "call", id, "reason", reason, "err", err)
	}
}
