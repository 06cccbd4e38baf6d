package alerts_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/shouwang-hub/shouwang/alerts"
	"github.com/shouwang-hub/shouwang/devices"
)

// The golden cases of incidents, outages and check-ins: the hub's
// supervision and check-in book run here as the hub runs them (hub/), so
// the cases show the whole rule, with explicit times.
//
// More device options (after the kind): building=B unit=U floor=F
// household=H gateway=G born=YEAR notes=WORD vendor created=DURATION (when
// it was registered, relative to t0; default t0).
//
// More inputs:
//
//	gateway <id> offline|online         a bridge's own status (its will)
//	sweep                               supervision: devices back, devices past their grace or reporting time
//	judge                               the check-in book: windows that ended
//	activity <dev> door|motion          a sign of life the hub noticed in telemetry
//	quiet <dev> until=<duration>        staff: the device's household is away until t0+duration
//	checkins                            every watched household's state now
//	evacuation <dev>                    the evacuation list of the device's building
//
// A status offline is a last will (Supervisor.Will); every other message
// is the device heard from (Supervisor.Seen, or Watch at its first).

type goldenMore struct {
	sv       *alerts.Supervisor
	keys     map[string]int32
	ids      []string
	vendor   map[string]bool
	returned []string
	gwDown   map[string]bool
	book     *alerts.CheckinBook
	plans    map[string]*alerts.CheckinPlan
}

func (c *goldenCase) deviceOptions(d *devices.Device, words []string) {
	d.CreatedAt = t0
	for _, w := range words {
		k, v, _ := strings.Cut(w, "=")
		switch k {
		case "alone":
			d.Resident.LivesAlone = true
		case "family": // the daughter is told of an SOS
			d.Contacts[0].NotifySOS = true
		case "community":
			d.Location.Community = strings.ReplaceAll(v, "_", " ")
		case "building":
			d.Location.Building = v
		case "unit":
			d.Location.Unit = v
		case "floor":
			d.Location.Floor = v
		case "household":
			d.Location.Household = v
		case "gateway":
			d.Gateway = v
		case "born":
			d.Resident.BirthYear = int(mustUint(c.t, v))
		case "notes":
			d.Resident.CareNotes = v
		case "vendor":
			c.more.vendorDevice(d.ID)
		case "created":
			dur, err := time.ParseDuration(v)
			if err != nil {
				c.t.Fatalf("device %s: created: %v", d.ID, err)
			}
			d.CreatedAt = t0.Add(dur)
		default:
			c.t.Fatalf("device %s: unknown option %q", d.ID, w)
		}
	}
}

func (m *goldenMore) vendorDevice(id string) {
	if m.vendor == nil {
		m.vendor = map[string]bool{}
	}
	m.vendor[id] = true
}

// start sets up supervision and the check-in book as the hub does at
// start: every household of the case watched as the rules say.
func (c *goldenCase) start() {
	m := &c.more
	rules := c.e.svc.Rules()
	m.sv, m.keys, m.gwDown, m.plans = alerts.NewSupervisor(rules), map[string]int32{}, map[string]bool{}, map[string]*alerts.CheckinPlan{}
	m.book = alerts.NewCheckinBook(rules.Checkin.Location())
	var ds []*devices.Device
	for _, id := range c.sortedIDs() {
		m.keys[id] = int32(len(m.ids))
		m.ids = append(m.ids, id)
		ds = append(ds, c.devs[id])
	}
	c.e.store.SetDevices(ds...) // the registry, as the store has it
	for _, w := range c.households() {
		m.book.Set(w, t0)
	}
}

func (c *goldenCase) sortedIDs() []string {
	ids := make([]string, 0, len(c.devs))
	for id := range c.devs {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// households are the case's households as the book watches them: alone if
// any of its devices says so, watched since its first registration.
func (c *goldenCase) households() []alerts.Watched {
	rules := c.e.svc.Rules().Checkin
	type hh struct {
		alone bool
		since time.Time
	}
	byKey := map[string]*hh{}
	var keys []string
	for _, id := range c.sortedIDs() {
		d := c.devs[id]
		k := c.householdKey(d)
		if k == "" {
			continue
		}
		if byKey[k] == nil {
			byKey[k] = &hh{since: d.CreatedAt}
			keys = append(keys, k)
		}
		h := byKey[k]
		h.alone = h.alone || d.Resident.LivesAlone
		if d.CreatedAt.Before(h.since) {
			h.since = d.CreatedAt
		}
	}
	var out []alerts.Watched
	for _, k := range keys {
		out = append(out, rules.Watched(k, byKey[k].alone, byKey[k].since, c.more.plans[k]))
	}
	return out
}

// householdKey is d's household as hub/checkins keys it: one household
// per cell, a device registered without its unit in the household its
// other devices name (devices.CompleteUnits).
func (c *goldenCase) householdKey(d *devices.Device) string {
	ds := make([]*devices.Device, 0, len(c.devs))
	for _, id := range c.sortedIDs() {
		ds = append(ds, c.devs[id])
	}
	return devices.CompleteUnits(ds)(d.Location).HouseholdKey()
}

// heard tells supervision and the book what a message means, as ingest
// does.
func (c *goldenCase) heard(d *devices.Device, msg *devices.Message, res alerts.Result, now time.Time) {
	m := &c.more
	key := m.keys[d.ID]
	for _, a := range res.Activity {
		m.book.Activity(a.Household, a.At)
	}
	if msg.Status != nil && !msg.Status.Online {
		m.sv.Will(key, d.ID, d.Kind, now, 0, false)
		return
	}
	silent, watched := m.sv.Seen(key, now)
	if !watched && !m.vendor[d.ID] {
		m.sv.Watch(key, d.ID, d.Kind, now)
	}
	if silent {
		m.returned = append(m.returned, d.ID)
	}
}

func (c *goldenCase) stepMore(cmd string, args []string, opts map[string]string, now time.Time) bool {
	switch cmd {
	case "gateway":
		if len(args) != 2 {
			c.t.Fatal("gateway <id> offline|online")
		}
		c.more.gwDown[args[0]] = args[1] == "offline"
		if args[1] == "offline" {
			for _, id := range c.sortedIDs() {
				if d := c.devs[id]; d.Gateway == args[0] {
					c.more.sv.Will(c.more.keys[id], id, d.Kind, now, 0, false)
				}
			}
		}
	case "sweep":
		c.sweep(now)
	case "judge":
		c.judge(now)
	case "activity":
		d := c.dev(args)
		res := c.inTx(func(tx alerts.Tx) (alerts.Result, error) {
			return c.e.svc.Activity(context.Background(), tx, d, now, args[1])
		})
		c.fold(res.Changed...)
		c.heard(d, &devices.Message{}, res, now)
	case "quiet":
		d := c.dev(args)
		until, err := time.ParseDuration(opts["until"])
		if err != nil {
			c.t.Fatalf("quiet: until: %v", err)
		}
		k := c.householdKey(d)
		c.more.plans[k] = &alerts.CheckinPlan{Household: k, QuietUntil: t0.Add(until)}
		for _, w := range c.households() {
			c.more.book.Set(w, now)
		}
	case "checkins":
		for _, w := range c.households() {
			st, _ := c.more.book.Status(w.Household, now)
			fmt.Fprintf(&c.out, "at %s checkin %s: %s", now.Sub(t0), strings.ReplaceAll(w.Household, "\x1f", "/"), st.State)
			if !st.LastActivity.IsZero() {
				fmt.Fprintf(&c.out, " last=%s", since(st.LastActivity))
			}
			c.out.WriteString("\n")
		}
	case "evacuation":
		c.evacuation(c.dev(args), now)
	default:
		return false
	}
	return true
}

func (c *goldenCase) inTx(fn func(alerts.Tx) (alerts.Result, error)) alerts.Result {
	var res alerts.Result
	err := c.e.store.InTx(context.Background(), func(tx alerts.Tx) error {
		var err error
		res, err = fn(tx)
		return err
	})
	if err != nil {
		c.t.Fatal(err)
	}
	return res
}

// sweep is hub/supervision's sweep: devices back first, then the devices
// past their time, grouped by scope with the scope's devices whose wills
// are still within their grace.
func (c *goldenCase) sweep(now time.Time) {
	m := &c.more
	for _, id := range m.returned {
		res := c.inTx(func(tx alerts.Tx) (alerts.Result, error) {
			changed, err := c.e.svc.DeviceReturned(context.Background(), tx, c.devs[id], now)
			return alerts.Result{Changed: changed}, err
		})
		c.fold(res.Changed...)
	}
	m.returned = nil
	groups := map[string]*alerts.OfflineGroup{} // by scope; a device without one is a group of its own
	var order []*alerts.OfflineGroup
	add := func(key int32, due bool) {
		d := c.devs[m.ids[key]]
		scope := alerts.OfflineScope(d)
		g := groups[scope]
		if g == nil || scope == "" {
			g = &alerts.OfflineGroup{Scope: scope, Gateway: d.Gateway, GatewayDown: m.gwDown[d.Gateway]}
			order = append(order, g)
			if scope != "" {
				groups[scope] = g
			}
		}
		since, will := m.sv.Since(key)
		g.Members = append(g.Members, alerts.OfflineMember{Device: d, Since: since, LastSeen: c.lastSeen[d.ID], Will: will, Due: due})
	}
	due := m.sv.Due(now)
	for _, key := range due {
		add(key, true)
	}
	pending := m.sv.Wills()
	slices.Sort(pending)
	for _, key := range pending {
		if groups[alerts.OfflineScope(c.devs[m.ids[key]])] != nil {
			add(key, false)
		}
	}
	for _, g := range order {
		slices.SortFunc(g.Members, func(a, b alerts.OfflineMember) int { return strings.Compare(a.Device.ID, b.Device.ID) })
		var taken []string
		res := c.inTx(func(tx alerts.Tx) (alerts.Result, error) {
			r, err := c.e.svc.Offline(context.Background(), tx, *g, now)
			taken = r.Taken
			return alerts.Result{Changed: r.Changed}, err
		})
		for _, id := range taken {
			m.sv.MarkSilent(m.keys[id])
		}
		c.fold(res.Changed...)
	}
}

// judge is hub/checkins' sweep: the windows that ended, each overdue
// household's no_activity alert on its SOS button (else its first device).
func (c *goldenCase) judge(now time.Time) {
	for _, od := range c.more.book.Due(now) {
		var rep *devices.Device
		for _, id := range c.sortedIDs() {
			d := c.devs[id]
			if c.householdKey(d) == od.Household && (rep == nil || d.Kind == devices.KindSOSButton && rep.Kind != devices.KindSOSButton) {
				rep = d
			}
		}
		fmt.Fprintf(&c.out, "at %s overdue %s window %s–%s\n", now.Sub(t0), rep.ID, since(od.WindowStart), since(od.WindowEnd))
		res := c.inTx(func(tx alerts.Tx) (alerts.Result, error) {
			a, err := c.e.svc.NoActivity(context.Background(), tx, rep, od, now)
			if a == nil {
				return alerts.Result{}, err
			}
			return alerts.Result{Changed: []*alerts.Alert{a}}, err
		})
		c.fold(res.Changed...)
	}
}

func (c *goldenCase) evacuation(d *devices.Device, now time.Time) {
	var ds []*devices.Device
	for _, id := range c.sortedIDs() {
		x := c.devs[id]
		if x.Location.Community == d.Location.Community && x.Location.Building == d.Location.Building {
			ds = append(ds, x)
		}
	}
	fmt.Fprintf(&c.out, "at %s evacuation of building %s:\n", now.Sub(t0), d.Location.Building)
	for i, e := range alerts.Evacuation(ds, c.e.svc.Rules().Evacuation, now) {
		fmt.Fprintf(&c.out, "  %d. %s unit %s floor %s age %d %v devices %v\n", i+1, e.Household, e.Unit, e.Floor, e.Age, e.Reasons, e.Devices)
	}
}

// reportIncident adds an alert's incident, or its link to one, to the
// report.
func (c *goldenCase) reportIncident(b *strings.Builder, a *alerts.Alert) {
	if a.IncidentID != 0 {
		fmt.Fprintf(b, "  linked to incident %d\n", a.IncidentID)
	}
	in := a.Incident
	if in == nil {
		return
	}
	full, err := c.e.store.FindAlert(context.Background(), a.ID)
	if err != nil {
		c.t.Fatal(err)
	}
	fmt.Fprintf(b, "  incident %s: alerts=%d devices=%d returned=%d units=%v floors=%v first=%s\n",
		strings.ReplaceAll(in.Scope, "\x1f", "/"), in.Alerts, in.Devices, in.Returned, in.Units, in.Floors, since(in.FirstAt))
	for _, m := range full.Members {
		fmt.Fprintf(b, "    member %s", m.DeviceID)
		if m.AlertID != 0 {
			fmt.Fprintf(b, " alert=%d", m.AlertID)
		}
		fmt.Fprintf(b, " since=%s", since(m.Since))
		if !m.ReturnedAt.IsZero() {
			fmt.Fprintf(b, " returned=%s", since(m.ReturnedAt))
		}
		b.WriteString("\n")
	}
	if len(full.Members) != in.Devices {
		c.t.Errorf("incident %d counts %d devices but lists %d", a.ID, in.Devices, len(full.Members))
	}
}
