package hub

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/shouwang-hub/shouwang/alerts"
	"github.com/shouwang-hub/shouwang/devices"
)

// Checkins runs the daily check-in of residents living alone (see
// alerts/checkin.go): it keeps every watched household in an
// alerts.CheckinBook, notes their signs of life — check-in and SOS presses
// as the alerts service records them, doors and movement from readings —
// and at the end of each household's window opens a no_activity alert
// through the door for those that showed none.
//
// Signs of life seen in readings cost the telemetry path a kind check and,
// for a door or motion sensor of a watched household, a map lookup; they
// are written to the store every few seconds, not per reading (a crash
// loses at most those seconds: a visit too many, never an alert missed). A
// household with an open no_activity alert has its sign of life applied
// through the door at once, so the alert is marked cleared.
type Checkins struct {
	cfg    CheckinsConfig
	logger *slog.Logger
	book   *alerts.CheckinBook
	kick   chan struct{}
	reload chan struct{}

	mu         sync.Mutex
	households map[string]*watchedHousehold // watched ones, by key
	byDevice   map[string]string            // door and motion sensors of watched households → household
	contact    map[string]float64           // a door's last contact reading
	plans      map[string]alerts.CheckinPlan
	pending    map[string]alerts.Activity              // signs of life from readings, not yet stored
	alerted    map[string]bool                         // households with an open, uncleared no_activity alert
	complete   func(devices.Location) devices.Location // a location's unit as its household's devices name it (load)
	failed     []alerts.Overdue                        // verdicts whose transaction failed, tried again at the next sweep

	cancel context.CancelFunc
	wg     sync.WaitGroup
	once   sync.Once
}

// watchedHousehold is what Checkins keeps of one watched household.
type watchedHousehold struct {
	key        string
	loc        devices.Location
	resident   string
	gridWorker string
	rep        string // the device a no_activity alert is opened on: its first SOS button, else its first device
	hasSOS     bool
	alone      bool
	since      time.Time
}

// CheckinSource is where the book's households, plans and signs of life
// come from.
type CheckinSource interface {
	alerts.CheckinStore
	// EachHouseholdDevice calls fn with every device that belongs to a
	// household: ID, kind, location, resident (name, lives alone), grid
	// worker and registration time.
	EachHouseholdDevice(ctx context.Context, fn func(d *devices.Device) error) error
}

// CheckinsConfig configures Checkins.
type CheckinsConfig struct {
	Rules    alerts.CheckinRules
	Store    CheckinSource
	Alerting *Alerting
	Index    *DeviceIndex
	Now      func() time.Time
	// FlushEvery is how often signs of life from readings are stored (5 s).
	FlushEvery time.Duration
}

// checkinBatch is how many no_activity verdicts share a transaction.
const checkinBatch = 32

// NewCheckins loads the households, plans and signs of life, and joins
// alerting (which tells it of the presses it records). Start runs it.
func NewCheckins(ctx context.Context, cfg CheckinsConfig, logger *slog.Logger) (*Checkins, error) {
	switch {
	case cfg.Store == nil:
		return nil, errors.New("checkins: Store is required")
	case cfg.Alerting == nil:
		return nil, errors.New("checkins: Alerting is required")
	case cfg.Index == nil:
		return nil, errors.New("checkins: Index is required")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.FlushEvery <= 0 {
		cfg.FlushEvery = 5 * time.Second
	}
	c := &Checkins{cfg: cfg, logger: logger, book: alerts.NewCheckinBook(cfg.Rules.Location()),
		kick: make(chan struct{}, 1), reload: make(chan struct{}, 1),
		contact: map[string]float64{}, pending: map[string]alerts.Activity{}, alerted: map[string]bool{}}
	if err := c.load(ctx); err != nil {
		return nil, err
	}
	open, err := cfg.Alerting.openNoActivity(ctx)
	if err != nil {
		return nil, fmt.Errorf("checkins: %w", err)
	}
	for _, a := range open {
		if !a.Cleared {
			c.alerted[c.complete(a.Device.Location).HouseholdKey()] = true
		}
	}
	cfg.Alerting.setCheckins(c)
	return c, nil
}

// load reads the households, plans and signs of life, and sets the book to
// them.
func (c *Checkins) load(ctx context.Context) error {
	var ds []*devices.Device
	err := c.cfg.Store.EachHouseholdDevice(ctx, func(d *devices.Device) error {
		ds = append(ds, d)
		return nil
	})
	if err != nil {
		return fmt.Errorf("checkins: %w", err)
	}
	// One household per cell, as the building view and the evacuation list
	// have it: a device registered without its unit is in the household
	// its other devices name (alerts.householdOf does the same in the
	// store's transactions).
	complete := devices.CompleteUnits(ds)
	all := map[string]*watchedHousehold{}
	doors := map[string][]string{}
	for _, d := range ds {
		loc := complete(d.Location)
		k := loc.HouseholdKey()
		h := all[k]
		if h == nil {
			h = &watchedHousehold{key: k, loc: loc, since: d.CreatedAt, rep: d.ID}
			all[k] = h
		}
		h.alone = h.alone || d.Resident.LivesAlone
		if h.resident == "" {
			h.resident = d.Resident.Name
		}
		if h.gridWorker == "" {
			h.gridWorker = d.GridWorker.Name
		}
		if d.CreatedAt.Before(h.since) {
			h.since = d.CreatedAt
		}
		if d.Kind == devices.KindSOSButton && !h.hasSOS {
			h.rep, h.hasSOS = d.ID, true
		}
		if devices.ActivityKind(d.Kind) {
			doors[k] = append(doors[k], d.ID)
		}
	}
	plans, err := c.cfg.Store.CheckinPlans(ctx)
	if err != nil {
		return fmt.Errorf("checkins: %w", err)
	}
	acts, err := c.cfg.Store.Activities(ctx)
	if err != nil {
		return fmt.Errorf("checkins: %w", err)
	}
	now := c.cfg.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.complete = complete
	c.plans = make(map[string]alerts.CheckinPlan, len(plans))
	for _, p := range plans {
		c.plans[p.Household] = p
	}
	old := c.households
	c.households, c.byDevice = map[string]*watchedHousehold{}, map[string]string{}
	for k, h := range all {
		w := c.watched(h)
		c.book.Set(w, now)
		if !w.Watch {
			continue
		}
		c.households[k] = h
		for _, id := range doors[k] {
			c.byDevice[id] = k
		}
	}
	for k := range old {
		if _, ok := c.households[k]; !ok {
			c.book.Remove(k)
		}
	}
	for _, a := range acts {
		c.book.Activity(a.Household, a.At)
	}
	wake(c.kick)
	return nil
}

// watched is how the rules and the household's plan watch h. c.mu held.
func (c *Checkins) watched(h *watchedHousehold) alerts.Watched {
	var plan *alerts.CheckinPlan
	if p, ok := c.plans[h.key]; ok {
		plan = &p
	}
	return c.cfg.Rules.Watched(h.key, h.alone, h.since, plan)
}

// Start runs the sweep, the store of signs of life and the reloads until
// Close.
func (c *Checkins) Start() {
	ctx, cancel := context.WithCancel(context.Background())
	c.cancel = cancel
	for _, run := range []func(context.Context){c.runSweep, c.runFlush} {
		c.wg.Add(1)
		go func() { defer c.wg.Done(); run(ctx) }()
	}
}

// Close stops it, storing the signs of life not yet stored.
func (c *Checkins) Close() {
	c.once.Do(func() {
		if c.cancel != nil {
			c.cancel()
		}
		c.wg.Wait()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		c.flush(ctx)
	})
}

// DevicesChanged asks for the households to be read again (a device was
// registered, changed or removed): at the next flush, once.
func (c *Checkins) DevicesChanged() { wake(c.reload) }

// committed takes what a committed transaction did: the signs of life the
// alerts service recorded (presses), and the no_activity alerts it opened,
// cleared or closed.
func (c *Checkins) committed(results []alerts.Result) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, r := range results {
		for _, a := range r.Activity {
			c.book.Activity(a.Household, a.At)
		}
		for _, al := range r.Changed {
			if al.Kind == alerts.KindNoActivity && !al.Test {
				c.alerted[c.complete(al.Device.Location).HouseholdKey()] = al.State.Open() && !al.Cleared
			}
		}
	}
}

// reading notes a door or motion sensor's reading (its household's sign of
// life when the door opened or closed, or movement began).
func (c *Checkins) reading(id string, kind devices.Kind, fields map[string]float64, at time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	k, ok := c.byDevice[id]
	if !ok {
		return
	}
	how := ""
	switch kind {
	case devices.KindDoor:
		v, ok := fields["contact"]
		if !ok {
			return
		}
		prev, known := c.contact[id]
		c.contact[id] = v
		if known && (prev < 0.5) != (v < 0.5) {
			how = alerts.HowDoor
		}
	case devices.KindMotion:
		if fields["occupancy"] >= 0.5 {
			how = alerts.HowMotion
		}
	}
	if how != "" {
		c.noteLocked(k, id, at, how)
	}
}

// activity notes a vendor device's sign of life (devices.Outcome.Activity).
func (c *Checkins) activity(id string, at time.Time, how string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if k, ok := c.byDevice[id]; ok {
		c.noteLocked(k, id, at, how)
	}
}

func (c *Checkins) noteLocked(household, device string, at time.Time, how string) {
	c.book.Activity(household, at)
	if p, ok := c.pending[household]; !ok || at.After(p.At) {
		c.pending[household] = alerts.Activity{Household: household, At: at, DeviceID: device, How: how}
	}
	if c.alerted[household] {
		wake(c.kick) // its alert is cleared at once, not at the next flush
	}
}

func (c *Checkins) runFlush(ctx context.Context) {
	t := time.NewTicker(c.cfg.FlushEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-c.reload:
			if err := c.load(ctx); err != nil && ctx.Err() == nil {
				c.logger.Warn("read the households again", "err", err)
			}
		}
		c.flush(ctx)
	}
}

// flush stores the signs of life from readings; those of households with
// an open no_activity alert go through the door, which marks it cleared.
// What fails is kept for the next flush.
func (c *Checkins) flush(ctx context.Context) {
	c.mu.Lock()
	var plain, alerted []alerts.Activity
	for k, a := range c.pending {
		if c.alerted[k] {
			alerted = append(alerted, a)
		} else {
			plain = append(plain, a)
		}
	}
	clear(c.pending)
	c.mu.Unlock()
	keep := func(as []alerts.Activity) {
		c.mu.Lock()
		defer c.mu.Unlock()
		for _, a := range as {
			if p, ok := c.pending[a.Household]; !ok || a.At.After(p.At) {
				c.pending[a.Household] = a
			}
		}
	}
	if err := c.cfg.Store.SaveActivities(ctx, plain); err != nil {
		keep(plain)
		if ctx.Err() == nil {
			c.logger.Warn("store signs of life; kept for the next flush", "households", len(plain), "err", err)
		}
	}
	for _, a := range alerted {
		d, err := c.cfg.Index.Full(ctx, a.DeviceID)
		if err == nil && d != nil {
			err = c.cfg.Alerting.Update(ctx, func(tx *AlertTx) error { return tx.Activity(ctx, d, a.At, a.How) })
		}
		if err != nil {
			keep([]alerts.Activity{a})
			if ctx.Err() == nil {
				c.logger.Warn("apply a sign of life to a no_activity alert; retrying at the next flush", "household", a.Household, "err", err)
			}
		}
	}
}

// List returns the watched households of a community ("" for all) as they
// stand now, overdue first, then waiting, then the rest, by place.
func (c *Checkins) List(community string) []alerts.HouseholdCheckin {
	now := c.cfg.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	rows := make([]alerts.HouseholdCheckin, 0, len(c.households))
	for k, h := range c.households {
		if community != "" && h.loc.Community != community {
			continue
		}
		st, ok := c.book.Status(k, now)
		if !ok {
			continue
		}
		r := alerts.HouseholdCheckin{CheckinStatus: st, Location: h.loc, Resident: h.resident, GridWorker: h.gridWorker}
		if p, ok := c.plans[k]; ok {
			r.Plan = &p
		}
		rows = append(rows, r)
	}
	slices.SortFunc(rows, func(a, b alerts.HouseholdCheckin) int {
		return cmp.Or(cmp.Compare(stateOrder[a.State], stateOrder[b.State]),
			devices.ComparePlace(a.Location.Building, b.Location.Building),
			devices.ComparePlace(a.Location.Unit, b.Location.Unit),
			devices.ComparePlace(a.Location.Household, b.Location.Household))
	})
	return rows
}

var stateOrder = map[string]int{alerts.CheckinOverdue: 0, alerts.CheckinWaiting: 1, alerts.CheckinNew: 2,
	alerts.CheckinQuiet: 3, alerts.CheckinCheckedIn: 4, alerts.CheckinOff: 5}

// SetPlan stores what staff set for a household (by the location of one of
// its devices) and applies it at once.
func (c *Checkins) SetPlan(ctx context.Context, p alerts.CheckinPlan) error {
	if err := c.cfg.Store.SetCheckinPlan(ctx, p); err != nil {
		return err
	}
	if err := c.load(ctx); err != nil {
		return fmt.Errorf("plan stored, but the households were not read again: %w", err)
	}
	return nil
}
