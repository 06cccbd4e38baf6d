package alerts

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/shouwang-hub/shouwang"
	"github.com/shouwang-hub/shouwang/devices"
)

// DefaultMaxNotifyAttempts is how many times a webhook notification is
// tried before it is given up.
const DefaultMaxNotifyAttempts = 10

// Config configures a Service.
type Config struct {
	// Rules are the alert rules; the zero value means DefaultRules.
	Rules RuleSet
	// Directory says who each party is (the street's notification
	// configuration); nil means nobody is configured.
	Directory Directory
	// MaxNotifyAttempts bounds webhook retries; 0 means
	// DefaultMaxNotifyAttempts.
	MaxNotifyAttempts int
}

// Service applies the alert rules, the life cycle and the escalation
// policy inside store transactions it is given. It holds no state of its
// own beyond its configuration, so it is safe for concurrent use; the
// store's transactions serialise what must be serialised.
type Service struct {
	rules       RuleSet
	directory   Directory
	maxAttempts int
}

// NewService validates cfg, fills in defaults and returns a Service.
func NewService(cfg Config) (*Service, error) {
	if cfg.Rules.isZero() {
		cfg.Rules = DefaultRules()
	}
	if err := cfg.Rules.Validate(); err != nil {
		return nil, fmt.Errorf("alerts: Rules: %w", err)
	}
	switch {
	case cfg.MaxNotifyAttempts < 0:
		return nil, shouwang.Errorf(shouwang.EINVALID, "alerts: MaxNotifyAttempts %d: must not be negative", cfg.MaxNotifyAttempts)
	case cfg.MaxNotifyAttempts == 0:
		cfg.MaxNotifyAttempts = DefaultMaxNotifyAttempts
	}
	return &Service{rules: cfg.Rules, directory: cfg.Directory, maxAttempts: cfg.MaxNotifyAttempts}, nil
}

// Rules returns the rules the Service applies.
func (s *Service) Rules() RuleSet { return s.rules }

// Result is what applying one message changed: the alerts as they now
// stand (without timelines unless they were opened by this message), and
// the acknowledgements to publish once the transaction has committed.
type Result struct {
	Changed []*Alert
	Acks    []DeviceAck
	// Activity are the signs of life of households the message was
	// (checkin.go), recorded in the transaction.
	Activity []Activity
}

// deviceActor is a device acting on its own alerts.
func deviceActor(id string) Actor { return Actor{Name: id, Role: "device"} }

// op is the work of one Service call inside one transaction: the alerts it
// has read and changed, written back once at the end.
type op struct {
	s       *Service
	ctx     context.Context
	tx      Tx
	now     time.Time
	tracked []*tracked
	acks    []DeviceAck
	// activities are the signs of life recorded (checkin.go).
	activities []Activity
}

type tracked struct {
	a       *Alert
	created bool // inserted by this op: its timeline is complete in memory
	full    bool // read with its timeline: new entries are appended to it
	dirty   bool // changed since it was read or inserted
}

func (s *Service) newOp(ctx context.Context, tx Tx, now time.Time) *op {
	return &op{s: s, ctx: ctx, tx: tx, now: now}
}

// canon returns the op's copy of an alert it already holds, so one alert
// read twice (by OpenAlerts and LatestAlert) is changed once.
func (o *op) canon(a *Alert, full bool) *Alert {
	for _, t := range o.tracked {
		if t.a.ID == a.ID {
			return t.a
		}
	}
	o.tracked = append(o.tracked, &tracked{a: a, full: full})
	return a
}

func (o *op) entry(a *Alert) *tracked {
	for _, t := range o.tracked {
		if t.a == a {
			return t
		}
	}
	t := &tracked{a: a}
	o.tracked = append(o.tracked, t)
	return t
}

// create inserts a new alert.
func (o *op) create(a *Alert) error {
	a.Version, a.UpdatedAt = 1, o.now
	if err := o.tx.CreateAlert(o.ctx, a); err != nil {
		return fmt.Errorf("create alert: %w", err)
	}
	o.tracked = append(o.tracked, &tracked{a: a, created: true, full: true})
	return nil
}

// touch marks a as changed; flush writes it.
func (o *op) touch(a *Alert) { o.entry(a).dirty = true }

// log appends a timeline entry to a.
func (o *op) log(a *Alert, actor Actor, action, note string, data map[string]string) error {
	e := TimelineEntry{At: o.now, Actor: actor, Action: action, Note: note, Data: data}
	if err := o.tx.AddTimeline(o.ctx, a.ID, e); err != nil {
		return fmt.Errorf("alert %d: add %s to the timeline: %w", a.ID, action, err)
	}
	if t := o.entry(a); t.created || t.full {
		a.Timeline = append(a.Timeline, e)
	}
	return nil
}

// ack queues an acknowledgement to the device and notes it on a's
// timeline.
func (o *op) ack(a *Alert, payload ackPayload) error {
	b, err := json.Marshal(payload)
	if err != nil {
		return fmt.Errorf("encode acknowledgement: %w", err)
	}
	o.acks = append(o.acks, DeviceAck{DeviceID: a.DeviceID, Payload: b})
	data := map[string]string{"type": payload.Type}
	if payload.Seq != 0 {
		data["seq"] = strconv.FormatUint(payload.Seq, 10)
	}
	return o.log(a, System, TimelineDeviceAck, "", data)
}

// flush writes every changed alert once and returns the alerts the op
// created or changed, in the order it first touched them.
func (o *op) flush() ([]*Alert, error) {
	var changed []*Alert
	for _, t := range o.tracked {
		if t.dirty {
			t.a.Version++
			t.a.UpdatedAt = o.now
			if err := o.tx.UpdateAlert(o.ctx, t.a); err != nil {
				return nil, fmt.Errorf("update alert %d: %w", t.a.ID, err)
			}
		}
		if t.dirty || t.created {
			changed = append(changed, t.a)
		}
	}
	return changed, nil
}

func (o *op) result() (Result, error) {
	changed, err := o.flush()
	if err != nil {
		return Result{}, err
	}
	return Result{Changed: changed, Acks: o.acks, Activity: o.activities}, nil
}

// ackPayload is the JSON of a downlink acknowledgement.
type ackPayload struct {
	Type  string `json:"type"` // "ack" or "accepted"
	Seq   uint64 `json:"seq,omitempty"`
	Alert int64  `json:"alert"`
	By    string `json:"by,omitempty"`
}

// newAlert returns an alert of kind opened now for device d, not yet
// stored.
func newAlert(d *devices.Device, kind Kind, sev Severity, now time.Time, reading *float64) *Alert {
	a := &Alert{
		Kind: kind, Severity: sev, State: StateNew,
		DeviceID: d.ID, Device: snapshot(d),
		OpenedAt: now, LastOccurrence: now, Occurrences: 1,
		Reading: cloneF(reading),
	}
	a.Priority = priority(sev, &a.Device)
	return a
}

// snapshot copies the device for an alert, without its health.
func snapshot(d *devices.Device) devices.Device {
	c := *d
	c.Health = devices.Health{}
	c.Capabilities = slices.Clone(d.Capabilities)
	c.Contacts = slices.Clone(d.Contacts)
	return c
}

// Priorities. Lower is more urgent.
const (
	priorityCritical = 1
	priorityMajor    = 3
	priorityMinor    = 5
	priorityTest     = 9
)

// priority orders the duty room's queue: by severity, one step more urgent
// when the resident lives alone (so a critical alert for someone alone is
// 0, ahead of every other).
func priority(sev Severity, d *devices.Device) int {
	p := priorityMinor
	switch sev {
	case SeverityCritical:
		p = priorityCritical
	case SeverityMajor:
		p = priorityMajor
	}
	if d.Resident.LivesAlone {
		p--
	}
	return p
}

// severityOf is the severity an alert of kind opens with.
func severityOf(k Kind) Severity {
	switch k {
	case KindSOS, KindSmoke, KindGasHigh, KindCO, KindBuildingAlarm:
		return SeverityCritical
	case KindGasLow, KindFault, KindTamper, KindOffline, KindNoActivity, KindOutage:
		return SeverityMajor
	}
	return SeverityMinor
}

func cloneF(v *float64) *float64 {
	if v == nil {
		return nil
	}
	c := *v
	return &c
}

func fmtF(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

func fmtT(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// notFound reports whether err is a *shouwang.Error with ENOTFOUND.
func notFound(err error) bool { return shouwang.ErrorCode(err) == shouwang.ENOTFOUND }
