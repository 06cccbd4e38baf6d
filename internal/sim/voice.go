package sim

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/shouwang-hub/shouwang/devices"
)

// The device side of a voice call (docs/protocol.md, "call"): the device
// offers over its own MQTT topics, non-trickle, and the hub answers as a
// WebRTC peer.
//
//	call/offer  device → hub  {"call":"<id>","sdp":"<offer>"}
//	call/answer hub → device  {"call":"<id>","sdp":"<answer>"}
//	call/hangup both ways     {"call":"<id>","reason":"hangup|busy|refused|timeout|error|peer_gone"}
//	cmd         hub → device  {"type":"call_request","alert":<id>}: offer a fresh call
//
// A device subscribes to its own call/# and so also receives what it
// publishes there itself (MQTT 3.1.1 has no "no local"); only answer and
// hangup are acted on, and a hangup for a call that has already ended is
// ignored.

// callPayloadCap is the protocol's limit on call/... payloads.
const callPayloadCap = 16 << 10

// ErrCallEnded is wrapped by Sim.Call's error when the call ended before it
// was answered: no answer in time, a hang-up from the hub (busy, refused),
// or ctx done. The returned Call's EndReason says which.
var ErrCallEnded = errors.New("call ended before it was answered")

// callMsg is the payload of every call/... topic.
type callMsg struct {
	Call   string `json:"call"`
	SDP    string `json:"sdp,omitempty"`
	Reason string `json:"reason,omitempty"`
}

// Call places a voice call from device id, without pressing anything: it
// builds a pion peer with the clip as its microphone, publishes call/offer
// (QoS 1) with a fresh call ID and waits for call/answer. ctx bounds only
// that wait (and, with AutoCallback, the wait for the operator's
// call_request); once answered the call lasts until Hangup, a call/hangup
// from the hub, a peer silent for PeerTimeout, Silence or Close.
//
// Call returns the call and nil once the answer is applied and the audio is
// starting. If the call ends before that — no answer within AnswerTimeout
// (the device then publishes call/hangup reason timeout), a call/hangup from
// the hub (busy, refused), or ctx done — it returns the ended call, its
// EndReason saying why, with an error wrapping ErrCallEnded. Failures before
// the offer is sent return a nil Call. Any device may offer; whether it may
// call is the hub's decision.
func (s *Sim) Call(ctx context.Context, id string, opts CallOptions) (*Call, error) {
	d, err := s.device(id)
	if err != nil {
		return nil, err
	}
	if s.closing.Load() {
		return nil, ErrClosed
	}
	if opts.AutoCallback {
		if err := d.awaitCallRequest(ctx); err != nil {
			return nil, err
		}
	}
	return d.call(ctx, opts)
}

// Calls returns the device's calls that have not ended, or nil.
func (s *Sim) Calls(id string) []*Call {
	d, ok := s.devs[id]
	if !ok {
		return nil
	}
	d.callMu.Lock()
	defer d.callMu.Unlock()
	var out []*Call
	for _, c := range d.calls {
		out = append(out, c)
	}
	return out
}

// HangupCalls hangs up every call of device id, as its user would, and
// returns how many there were.
func (s *Sim) HangupCalls(id string) (int, error) {
	d, err := s.device(id)
	if err != nil {
		return 0, err
	}
	return d.endCalls(ReasonHangup, true), nil
}

// ownCallOptions are the options of calls the simulator starts by itself:
// on a call_request and from the control endpoint.
func (s *Sim) ownCallOptions() CallOptions {
	return CallOptions{Clip: s.cfg.CallClip, recordDir: s.cfg.CallRecordDir}
}

func (d *device) call(ctx context.Context, opts CallOptions) (*Call, error) {
	fill(&opts.AnswerTimeout, DefaultAnswerTimeout)
	callID := rand.Text()
	if opts.Record == "" && opts.recordDir != "" {
		opts.Record = filepath.Join(opts.recordDir, d.id+"-"+callID+".ogg")
	}
	log := d.s.log.With("device", d.id, "call", callID)
	c, err := newCall(callID, opts, log, callHooks{
		notify: func(reason string) error {
			return d.publishCall("hangup", callMsg{Call: callID, Reason: reason})
		},
		onEnd: func() { d.removeCall(callID) },
	})
	if err != nil {
		return nil, fmt.Errorf("device %s: call: %w", d.id, err)
	}
	abort := func(err error) (*Call, error) {
		c.end(ReasonError, false)
		<-c.done
		return nil, fmt.Errorf("device %s: call: %w", d.id, err)
	}
	if err := d.addCall(c); err != nil {
		return abort(err)
	}
	sdp, err := c.offer(ctx)
	if err != nil {
		return abort(err)
	}
	if err := d.publishCall("offer", callMsg{Call: callID, SDP: sdp}); err != nil {
		return abort(err)
	}
	log.Info("call offered")
	t := time.NewTimer(opts.AnswerTimeout)
	defer t.Stop()
	select {
	case answer := <-c.answerc:
		if err := c.setAnswer(answer); err != nil {
			c.end(ReasonError, true)
			<-c.done
			return c, fmt.Errorf("device %s: call %s: %w: %w", d.id, callID, ErrCallEnded, err)
		}
		log.Info("call answered")
		return c, nil
	case <-t.C:
		c.end(ReasonTimeout, true)
		<-c.done
		return c, fmt.Errorf("device %s: call %s: no answer within %v: %w", d.id, callID, opts.AnswerTimeout, ErrCallEnded)
	case <-c.ctx.Done():
		<-c.done
		return c, fmt.Errorf("device %s: call %s: %w: %s", d.id, callID, ErrCallEnded, c.EndReason())
	case <-ctx.Done():
		c.end(ReasonHangup, true)
		<-c.done
		return c, fmt.Errorf("device %s: call %s: %w: %w", d.id, callID, ErrCallEnded, ctx.Err())
	}
}

// publishCall publishes m on the device's call/{sub} topic, QoS 1, and
// waits for the broker's acknowledgement.
func (d *device) publishCall(sub string, m callMsg) error {
	payload, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("encode call/%s: %w", sub, err)
	}
	if len(payload) > callPayloadCap {
		return fmt.Errorf("call/%s of %d bytes: over the protocol's %d", sub, len(payload), callPayloadCap)
	}
	d.mu.Lock()
	silenced, client := d.silenced, d.client
	d.mu.Unlock()
	switch {
	case silenced:
		return fmt.Errorf("publish call/%s: %w", sub, ErrSilenced)
	case client == nil:
		return fmt.Errorf("publish call/%s: %w", sub, ErrNotConnected)
	}
	tok := client.Publish(devices.Topic(d.id, devices.ChannelCall)+"/"+sub, 1, false, payload)
	if err := d.s.count(devices.ChannelCall, tok); err != nil {
		return fmt.Errorf("publish call/%s: %w", sub, err)
	}
	return nil
}

// onCall routes the hub's call/answer and call/hangup to the call they
// name. It runs on the MQTT client's goroutine and never blocks.
func (d *device) onCall(_ mqtt.Client, m mqtt.Message) {
	_, _, sub, err := devices.ParseTopic(m.Topic())
	if err != nil || (sub != "answer" && sub != "hangup") {
		return
	}
	d.s.recv.Add(1)
	if len(m.Payload()) > callPayloadCap {
		d.s.log.Warn("call message over the payload cap ignored", "device", d.id, "topic", m.Topic(), "bytes", len(m.Payload()))
		return
	}
	var msg callMsg
	if err := json.Unmarshal(m.Payload(), &msg); err != nil {
		d.s.log.Warn("bad call message ignored", "device", d.id, "topic", m.Topic(), "err", err)
		return
	}
	d.callMu.Lock()
	c := d.calls[msg.Call]
	d.callMu.Unlock()
	if c == nil {
		d.s.log.Debug("call message for no live call", "device", d.id, "topic", m.Topic(), "call", msg.Call)
		return
	}
	switch sub {
	case "answer":
		select {
		case c.answerc <- msg.SDP:
		default: // a repeated answer
		}
	case "hangup":
		reason := msg.Reason
		if reason == "" {
			reason = ReasonHangup
		}
		c.end(reason, false)
	}
}

// callRequested handles a call_request on cmd: a Call waiting with
// AutoCallback takes it; otherwise, with Config.AnswerCallRequests, the
// device offers a call by itself.
func (d *device) callRequested() {
	d.callMu.Lock()
	if len(d.waiters) > 0 {
		w := d.waiters[0]
		d.waiters = d.waiters[1:]
		d.callMu.Unlock()
		close(w)
		return
	}
	d.callMu.Unlock()
	if !d.s.cfg.AnswerCallRequests {
		d.s.log.Info("call request ignored (answering call requests is off)", "device", d.id)
		return
	}
	d.s.background(func() {
		c, err := d.call(d.s.ctx, d.s.ownCallOptions())
		if err != nil {
			d.s.log.Warn("call back failed", "device", d.id, "err", err)
			return
		}
		d.s.log.Info("called back", "device", d.id, "call", c.ID())
	})
}

// awaitCallRequest waits for the next call_request to the device.
func (d *device) awaitCallRequest(ctx context.Context) error {
	w := make(chan struct{})
	d.callMu.Lock()
	d.waiters = append(d.waiters, w)
	d.callMu.Unlock()
	var err error
	select {
	case <-w:
		return nil
	case <-ctx.Done():
		err = ctx.Err()
	case <-d.s.ctx.Done():
		err = ErrClosed
	}
	d.callMu.Lock()
	for i, x := range d.waiters {
		if x == w {
			d.waiters = append(d.waiters[:i], d.waiters[i+1:]...)
			break
		}
	}
	d.callMu.Unlock()
	return fmt.Errorf("device %s: wait for a call request: %w", d.id, err)
}

func (d *device) addCall(c *Call) error {
	d.callMu.Lock()
	defer d.callMu.Unlock()
	if d.s.closing.Load() {
		return ErrClosed
	}
	if d.calls == nil {
		d.calls = map[string]*Call{}
	}
	d.calls[c.id] = c
	return nil
}

func (d *device) removeCall(id string) {
	d.callMu.Lock()
	delete(d.calls, id)
	d.callMu.Unlock()
}

// endCalls ends every call of the device and waits until they have
// stopped; it returns how many there were.
func (d *device) endCalls(reason string, tell bool) int {
	d.callMu.Lock()
	calls := make([]*Call, 0, len(d.calls))
	for _, c := range d.calls {
		calls = append(calls, c)
	}
	d.callMu.Unlock()
	for _, c := range calls {
		c.end(reason, tell)
	}
	for _, c := range calls {
		<-c.done
	}
	return len(calls)
}

// isCallRequest reports whether a cmd payload asks the device to call.
func isCallRequest(p []byte) bool {
	var m struct {
		Type string `json:"type"`
	}
	return json.Unmarshal(p, &m) == nil && m.Type == "call_request"
}
