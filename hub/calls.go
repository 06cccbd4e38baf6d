package hub

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"sync"
	"time"

	"github.com/shouwang-hub/shouwang"
	"github.com/shouwang-hub/shouwang/alerts"
	"github.com/shouwang-hub/shouwang/devices"
	"github.com/shouwang-hub/shouwang/hub/voice"
)

// maxCallPayload caps call signalling messages, which carry SDP.
const maxCallPayload = 16 << 10

var callIDPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// CallsConfig configures Calls.
type CallsConfig struct {
	Voice     voice.Config // Signaller and OnEvent are set by NewCalls
	Alerting  *Alerting
	Index     *DeviceIndex
	Metrics   *Metrics
	Retention time.Duration // recordings older than this are deleted; 0 keeps them
	// Claims, when set, means several instances receive every device's
	// call signalling: the instance whose claim of a call wins takes it
	// (relays it, records it); the others leave it alone, and a console
	// on another instance reaches it through that one (docs/architecture.md,
	// "Several instances").
	Claims   CallClaimer
	Instance string // this instance's name, with Claims
}

// CallClaimer records which instance took a call (the SQL store).
type CallClaimer interface {
	// ClaimCall claims callID of deviceID for instance and returns the
	// instance holding it: instance if its claim won.
	ClaimCall(ctx context.Context, callID, deviceID, instance string) (string, error)
}

// Calls connects one-button voice calls to the rest of the hub: it routes
// devices' call signalling to the voice relay, refuses devices that may
// not call, attaches each call to its device's sos alert through the
// alerts domain, and serves the console's answer, hang-up, call-back and
// recordings.
type Calls struct {
	cfg    CallsConfig
	mgr    *voice.Manager
	logger *slog.Logger

	pubMu sync.RWMutex
	pub   Publisher

	cancel context.CancelFunc
	wg     sync.WaitGroup
	once   sync.Once
}

// NewCalls builds the voice relay.
func NewCalls(cfg CallsConfig, logger *slog.Logger) (*Calls, error) {
	if cfg.Alerting == nil || cfg.Index == nil || cfg.Metrics == nil {
		return nil, errors.New("calls: Alerting, Index and Metrics are required")
	}
	c := &Calls{cfg: cfg, logger: logger}
	vc := cfg.Voice
	vc.Signaller = c
	vc.OnEvent = c.onEvent
	mgr, err := voice.New(vc, logger)
	if err != nil {
		return nil, fmt.Errorf("voice: %w", err)
	}
	c.mgr = mgr
	ctx, cancel := context.WithCancel(context.Background())
	c.cancel = cancel
	if cfg.Retention > 0 {
		c.wg.Add(1)
		go func() { defer c.wg.Done(); c.pruneEvery(ctx, time.Hour) }()
	}
	return c, nil
}

// SetPublisher sets the MQTT client that carries signalling to devices.
func (c *Calls) SetPublisher(p Publisher) {
	c.pubMu.Lock()
	c.pub = p
	c.pubMu.Unlock()
}

// Manager is the voice relay, for metrics and tests.
func (c *Calls) Manager() *voice.Manager { return c.mgr }

// Close ends every call and stops the pruner.
func (c *Calls) Close() {
	c.once.Do(func() {
		c.mgr.Close()
		c.cancel()
		c.wg.Wait()
	})
}

// SendToDevice publishes call signalling on the device's call topic.
func (c *Calls) SendToDevice(ctx context.Context, deviceID, sub string, payload []byte) error {
	c.pubMu.RLock()
	p := c.pub
	c.pubMu.RUnlock()
	if p == nil {
		return errors.New("no MQTT client yet")
	}
	return p.Publish(ctx, devices.Topic(deviceID, devices.ChannelCall)+"/"+sub, 1, false, payload)
}

// handle takes a device's message on its call topics (offer, hangup).
func (c *Calls) handle(d IndexedDevice, sub string, payload []byte) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	refuse := func(reason string, err error) {
		c.cfg.Metrics.countCallRefused(reason)
		c.logger.Warn("call refused", "device", d.ID, "reason", reason, "err", err)
		var msg struct {
			Call string `json:"call"`
		}
		if json.Unmarshal(payload, &msg) == nil && callIDPattern.MatchString(msg.Call) {
			b, _ := json.Marshal(map[string]string{"call": msg.Call, "reason": "refused"})
			if err := c.SendToDevice(ctx, d.ID, "hangup", b); err != nil {
				c.logger.Warn("tell the device its call was refused", "device", d.ID, "err", err)
			}
		}
	}
	switch {
	case sub != "offer" && sub != "hangup":
		c.cfg.Metrics.countIgnored()
		return
	case len(payload) > maxCallPayload:
		refuse("oversized", fmt.Errorf("%d bytes", len(payload)))
		return
	case sub == "offer" && !d.Voice:
		refuse("not_voice_capable", errors.New("the device is not registered as voice-capable"))
		return
	}
	if c.cfg.Claims != nil && !c.takes(ctx, d.ID, sub, payload) {
		return
	}
	if err := c.mgr.DeviceMessage(ctx, d.ID, sub, payload); err != nil {
		c.cfg.Metrics.countCallRefused("invalid")
		c.logger.Warn("call message", "device", d.ID, "sub", sub, "err", err)
	}
}

// takes reports whether this instance handles a call message, with
// several instances: an offer if its claim of the call wins, a hang-up if
// the call is here.
func (c *Calls) takes(ctx context.Context, deviceID, sub string, payload []byte) bool {
	var msg struct {
		Call string `json:"call"`
	}
	if json.Unmarshal(payload, &msg) != nil || !callIDPattern.MatchString(msg.Call) {
		return true // the relay refuses it with its reason
	}
	if sub == "hangup" {
		for _, ci := range c.mgr.Calls() {
			if ci.ID == msg.Call {
				return true
			}
		}
		return false
	}
	owner, err := c.cfg.Claims.ClaimCall(ctx, msg.Call, deviceID, c.cfg.Instance)
	if err != nil {
		// Better two instances answering than none: the device takes the
		// first answer.
		c.logger.Error("claim call; taking it", "call", msg.Call, "err", err)
		return true
	}
	if owner != c.cfg.Instance {
		c.logger.Debug("call taken by another instance", "call", msg.Call, "instance", owner)
		return false
	}
	return true
}

// onEvent attaches a call's ringing, answer and end to the device's alert.
func (c *Calls) onEvent(ev voice.CallEvent) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	u := alerts.CallUpdate{ID: ev.Call.ID, State: string(ev.Type), EndReason: ev.Call.EndReason}
	switch ev.Type {
	case voice.CallRinging:
		u.At = ev.Call.StartedAt
		c.cfg.Metrics.countCallStarted()
	case voice.CallAnswered:
		u.At, u.By = ev.Call.AnsweredAt, ev.Call.AnsweredBy
		if !ev.Call.AnsweredAt.IsZero() {
			c.cfg.Metrics.observeCallWait(ev.Call.AnsweredAt.Sub(ev.Call.StartedAt))
		}
	case voice.CallReleased:
		u.At, u.By, u.EndReason = time.Now(), ev.By, ev.Reason
		c.cfg.Metrics.countCallReleased(ev.Reason)
	case voice.CallEnded:
		u.At, u.By = ev.Call.EndedAt, ev.Call.EndedBy
		u.Recordings = map[string]string{}
		for side, p := range ev.Call.Recordings {
			u.Recordings[side] = filepath.Base(p)
		}
	}
	err := c.cfg.Alerting.Update(ctx, func(tx *AlertTx) error { return tx.CallEvent(ctx, ev.Call.DeviceID, u) })
	if err != nil {
		c.logger.Error("attach call to its alert", "call", ev.Call.ID, "event", ev.Type, "err", err)
	}
}

// Answer connects an operator's browser (its SDP offer) to a ringing call.
func (c *Calls) Answer(ctx context.Context, callID string, by alerts.Actor, offerSDP string) (string, error) {
	return c.mgr.Answer(ctx, callID, by.Name, offerSDP)
}

// Release lets go of an answer whose audio never connected: the call rings
// again for every console.
func (c *Calls) Release(ctx context.Context, callID string, by alerts.Actor, reason string) error {
	return c.mgr.Release(ctx, callID, by.Name, reason)
}

// Hangup ends a call on every side.
func (c *Calls) Hangup(ctx context.Context, callID string, by alerts.Actor) error {
	return c.mgr.Hangup(ctx, callID, by.Name)
}

// Callback asks a voice-capable device to call the duty room.
func (c *Calls) Callback(ctx context.Context, deviceID string, by alerts.Actor) error {
	d, ok := c.cfg.Index.Get(deviceID)
	if !ok {
		return shouwang.Errorf(shouwang.ENOTFOUND, "device %q not found", deviceID)
	}
	if !d.Voice {
		return shouwang.Errorf(shouwang.EINVALID, "device %s cannot make voice calls", deviceID)
	}
	var alertID int64
	if open, _, err := c.cfg.Alerting.ListAlerts(ctx, alerts.Filter{DeviceID: deviceID, Kind: alerts.KindSOS,
		States: []alerts.State{alerts.StateNew, alerts.StateAccepted, alerts.StateDispatched}, Limit: 1}); err == nil && len(open) > 0 {
		alertID = open[0].ID
	}
	b, _ := json.Marshal(map[string]any{"type": "call_request", "alert": alertID, "by": by.Name})
	c.pubMu.RLock()
	p := c.pub
	c.pubMu.RUnlock()
	if p == nil {
		return errors.New("no MQTT client yet")
	}
	return p.Publish(ctx, devices.Topic(deviceID, devices.ChannelCmd), 1, false, b)
}

// Recording returns the path of one side's recording of a call.
func (c *Calls) Recording(ctx context.Context, callID, side string) (string, error) {
	if !callIDPattern.MatchString(callID) || (side != "device" && side != "console") {
		return "", shouwang.Errorf(shouwang.EINVALID, "no recording %q of call %q", side, callID)
	}
	p := filepath.Join(c.cfg.Voice.DataDir, "calls", callID, side+".ogg")
	if _, err := os.Stat(p); err != nil {
		return "", shouwang.Errorf(shouwang.ENOTFOUND, "call %s has no %s recording", callID, side)
	}
	return p, nil
}

// pruneEvery deletes recordings older than the retention period.
func (c *Calls) pruneEvery(ctx context.Context, every time.Duration) {
	for {
		c.prune(time.Now().Add(-c.cfg.Retention))
		select {
		case <-ctx.Done():
			return
		case <-time.After(every):
		}
	}
}

func (c *Calls) prune(before time.Time) {
	dir := filepath.Join(c.cfg.Voice.DataDir, "calls")
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	active := map[string]bool{}
	for _, ci := range c.mgr.Calls() {
		active[ci.ID] = true
	}
	for _, e := range entries {
		info, err := e.Info()
		if err != nil || !e.IsDir() || active[e.Name()] || info.ModTime().After(before) {
			continue
		}
		if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
			c.logger.Warn("delete an old call recording", "call", e.Name(), "err", err)
		} else {
			c.logger.Info("deleted an old call recording", "call", e.Name())
		}
	}
}
