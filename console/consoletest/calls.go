package consoletest

import (
	"context"
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/shouwang-hub/shouwang"
	"github.com/shouwang-hub/shouwang/alerts"
	"github.com/shouwang-hub/shouwang/console"
	"github.com/shouwang-hub/shouwang/devices"
)

// CallState is where a fake call is: ringing, answered or ended.
type CallState string

// Call states, as the hub names them.
const (
	CallRinging  CallState = "ringing"
	CallAnswered CallState = "answered"
	CallEnded    CallState = "ended"
)

// FakeAnswerSDP is the SDP answer the fake gives every accepted offer.
const FakeAnswerSDP = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=fake answer\r\nt=0 0\r\n"

// Call is one call the fake knows: what the test set up and what the
// console did with it.
type Call struct {
	ID       string
	DeviceID string
	State    CallState
	// Offer is the SDP the console answered with; AnsweredBy and
	// HungUpBy who answered and who ended it.
	Offer      string
	AnsweredBy alerts.Actor
	HungUpBy   alerts.Actor
	// ReleasedBy is who last let go of an answer that never connected.
	ReleasedBy alerts.Actor
	// Recordings maps a side ("device", "console") to a file path.
	Recordings map[string]string
}

// Callback is one call-back request the console passed on.
type Callback struct {
	DeviceID string
	By       alerts.Actor
}

// Calls is an in-memory console.CallService. Calls ring when a test says
// so (Ring); answering one gives FakeAnswerSDP; a call-back is recorded,
// after checking in Registry (if set) that the device exists and can make
// voice calls. It keeps the refusals the hub makes: ENOTFOUND for an
// unknown call, ECONFLICT for a call already answered or ended, EINVALID
// for an offer that is not SDP or a device without voice.
type Calls struct {
	// Registry, if set, is where Callback looks devices up.
	Registry *Registry
	// Fail, if set, is returned by every method: a broken hub.
	Fail error

	mu        sync.Mutex
	calls     map[string]*Call
	callbacks []Callback
}

var _ console.CallService = (*Calls)(nil)

// NewCalls returns a service with no calls that checks call-backs against
// reg (nil: any device may be called back).
func NewCalls(reg *Registry) *Calls {
	return &Calls{Registry: reg, calls: make(map[string]*Call)}
}

// Ring adds a ringing call from a device.
func (c *Calls) Ring(id, deviceID string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls[id] = &Call{ID: id, DeviceID: deviceID, State: CallRinging, Recordings: map[string]string{}}
}

// SetRecording says where a call's recording of side is (the file need
// not exist).
func (c *Calls) SetRecording(id, side, path string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if call, ok := c.calls[id]; ok {
		call.Recordings[side] = path
	}
}

// Call returns a copy of the call with id.
func (c *Calls) Call(id string) (Call, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	call, ok := c.calls[id]
	if !ok {
		return Call{}, false
	}
	cp := *call
	cp.Recordings = maps.Clone(call.Recordings)
	return cp, true
}

// Callbacks returns the call-back requests so far, in order.
func (c *Calls) Callbacks() []Callback {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.callbacks)
}

func (c *Calls) find(id string) (*Call, error) {
	if c.Fail != nil {
		return nil, c.Fail
	}
	call, ok := c.calls[id]
	if !ok {
		return nil, shouwang.Errorf(shouwang.ENOTFOUND, "call %q not found", id)
	}
	return call, nil
}

// Answer implements console.CallService.
func (c *Calls) Answer(_ context.Context, id string, by alerts.Actor, offer string) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	call, err := c.find(id)
	if err != nil {
		return "", err
	}
	switch call.State {
	case CallAnswered:
		return "", shouwang.Errorf(shouwang.ECONFLICT, "call %s was already answered by %s", id, call.AnsweredBy.Name)
	case CallEnded:
		return "", shouwang.Errorf(shouwang.ECONFLICT, "call %s has ended", id)
	}
	if !strings.HasPrefix(offer, "v=0") || !strings.Contains(offer, "m=audio") {
		return "", shouwang.Errorf(shouwang.EINVALID, "the offer is not an audio SDP offer")
	}
	call.State, call.Offer, call.AnsweredBy = CallAnswered, offer, by
	return FakeAnswerSDP, nil
}

// Hangup implements console.CallService.
func (c *Calls) Hangup(_ context.Context, id string, by alerts.Actor) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	call, err := c.find(id)
	if err != nil {
		return err
	}
	if call.State == CallEnded {
		return shouwang.Errorf(shouwang.ECONFLICT, "call %s has ended", id)
	}
	call.State, call.HungUpBy = CallEnded, by
	return nil
}

// Release implements console.CallService: an answered call rings again.
func (c *Calls) Release(_ context.Context, id string, by alerts.Actor, reason string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	call, err := c.find(id)
	if err != nil {
		return err
	}
	switch {
	case reason != "media_failed" && reason != "media_timeout":
		return shouwang.Errorf(shouwang.EINVALID, "release reason %q: must be media_failed or media_timeout", reason)
	case call.State == CallEnded:
		return shouwang.Errorf(shouwang.ECONFLICT, "call %s has ended", id)
	case call.State == CallAnswered && call.AnsweredBy.Name != by.Name:
		return shouwang.Errorf(shouwang.ECONFLICT, "call %s was answered by %s", id, call.AnsweredBy.Name)
	case call.State == CallAnswered:
		call.State, call.Offer, call.AnsweredBy, call.ReleasedBy = CallRinging, "", alerts.Actor{}, by
	}
	return nil
}

// Callback implements console.CallService.
func (c *Calls) Callback(ctx context.Context, deviceID string, by alerts.Actor) error {
	if c.Registry != nil {
		d, err := c.Registry.FindDevice(ctx, deviceID)
		if err != nil {
			return err
		}
		if !d.HasCapability(devices.CapVoice) {
			return shouwang.Errorf(shouwang.EINVALID, "device %s cannot make voice calls", deviceID)
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.Fail != nil {
		return c.Fail
	}
	c.callbacks = append(c.callbacks, Callback{DeviceID: deviceID, By: by})
	return nil
}

// Recording implements console.CallService.
func (c *Calls) Recording(_ context.Context, id, side string) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	call, err := c.find(id)
	if err != nil {
		return "", err
	}
	p, ok := call.Recordings[side]
	if !ok {
		return "", shouwang.Errorf(shouwang.ENOTFOUND, "call %s has no %s recording", id, side)
	}
	return p, nil
}
