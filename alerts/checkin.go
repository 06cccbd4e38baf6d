package alerts

import (
	"cmp"
	"context"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/shouwang-hub/shouwang"
	"github.com/shouwang-hub/shouwang/devices"
)

// Check-ins of residents living alone (独居老人). A watched household must
// show a sign of life within its daily window — a check-in press (the
// native checkin event, a vendor button's check-in pattern), an SOS press,
// a door opening or closing, movement — or a no_activity alert opens at the
// window's end for its grid worker to visit; it escalates like any other
// and is marked cleared by the next sign of life. Staff may give a
// household its own window, turn watching on or off, and set a quiet period
// (away, in hospital) during which it is not judged.
//
// CheckinBook keeps every watched household in memory, with one heap of the
// times their windows end, so the daily judgement of a street's households
// is a heap walk; the Service does the rest inside store transactions.

// Activity is a sign of life of a household.
type Activity struct {
	Household string    `json:"household"` // devices.Location.HouseholdKey
	At        time.Time `json:"at"`
	DeviceID  string    `json:"device_id"`
	How       string    `json:"how"` // one of the How* values
}

// How a household showed a sign of life.
const (
	HowCheckin = "checkin" // a check-in press
	HowPress   = "press"   // an SOS press
	HowDoor    = "door"    // a door contact opened or closed
	HowMotion  = "motion"  // a motion sensor saw movement
)

// CheckinTx is what check-ins need from a store transaction; every Tx has
// it.
type CheckinTx interface {
	// RecordActivity keeps a as its household's latest sign of life,
	// unless a later one is stored.
	RecordActivity(ctx context.Context, a Activity) error
	// LastActivity returns a household's latest sign of life, the zero
	// Activity if it has none.
	LastActivity(ctx context.Context, household string) (Activity, error)
	// HouseholdLocations returns the locations of the registered devices
	// at l's community, building and household number, whatever their
	// unit: what devices.CompleteUnits needs to place a device registered
	// without its unit in its household.
	HouseholdLocations(ctx context.Context, l devices.Location) ([]devices.Location, error)
}

// CheckinPlan is what staff set for one household. Nil fields follow the
// rules.
type CheckinPlan struct {
	Household string `json:"household"`
	// Watch turns watching on or off; nil watches the household when its
	// resident lives alone (CheckinRules.LivesAlone).
	Watch      *bool     `json:"watch,omitempty"`
	Start      *Clock    `json:"start,omitempty"`
	End        *Clock    `json:"end,omitempty"`
	QuietUntil time.Time `json:"quiet_until,omitzero"` // not judged until then (away, in hospital)
	QuietNote  string    `json:"quiet_note,omitempty"`
	UpdatedBy  string    `json:"updated_by,omitempty"`
	UpdatedAt  time.Time `json:"updated_at,omitzero"`
}

// Check-in states of a household, as CheckinStatus.State says them.
const (
	CheckinOff       = "off"        // not watched
	CheckinQuiet     = "quiet"      // in a quiet period
	CheckinNew       = "new"        // watched since after today's window began: judged from tomorrow
	CheckinWaiting   = "waiting"    // today's window is not over and no sign of life yet
	CheckinCheckedIn = "checked_in" // a sign of life since today's window began
	CheckinOverdue   = "overdue"    // today's window ended without one
)

// CheckinStatus is where a household stands today.
type CheckinStatus struct {
	Household    string    `json:"household"`
	State        string    `json:"state"`
	WindowStart  time.Time `json:"window_start"`
	WindowEnd    time.Time `json:"window_end"`
	LastActivity time.Time `json:"last_activity,omitzero"`
	QuietUntil   time.Time `json:"quiet_until,omitzero"`
}

// HouseholdCheckin is one watched household as the console lists it: where
// it stands today, where it is, who lives there and who looks after it.
type HouseholdCheckin struct {
	CheckinStatus
	Location   devices.Location `json:"location"`
	Resident   string           `json:"resident"`
	GridWorker string           `json:"grid_worker,omitempty"`
	Plan       *CheckinPlan     `json:"plan,omitempty"` // what staff set, if anything
}

// Overdue is a household whose window ended without a sign of life.
type Overdue struct {
	Household    string
	WindowStart  time.Time
	WindowEnd    time.Time
	LastActivity time.Time // zero if none known
}

// Watched is one household as the book takes it.
type Watched struct {
	Household string
	Watch     bool
	// Since is when it began to be watched (its first device's
	// registration): a window that began earlier is not judged.
	Since      time.Time
	Start, End Clock // its window
	QuietUntil time.Time
}

// Watched returns how rules and plan (nil: none) watch a household whose
// resident livesAlone, watched since since.
func (c CheckinRules) Watched(household string, livesAlone bool, since time.Time, plan *CheckinPlan) Watched {
	w := Watched{Household: household, Watch: livesAlone && c.LivesAlone, Since: since, Start: c.Start, End: c.End}
	if plan != nil {
		if plan.Watch != nil {
			w.Watch = *plan.Watch
		}
		if plan.Start != nil && plan.End != nil {
			w.Start, w.End = *plan.Start, *plan.End
		}
		w.QuietUntil = plan.QuietUntil
	}
	return w
}

// CheckinBook holds the watched households of a street in memory: their
// windows, quiet periods and latest signs of life, and a heap of the times
// their windows end. It has no goroutine: the caller asks Next when to
// look again and Due what fell due. It is safe for concurrent use.
type CheckinBook struct {
	loc *time.Location

	mu   sync.Mutex
	idx  map[string]int32
	hs   []household
	heap []int32 // of indexes into hs, by due
}

type household struct {
	key        string
	watch      bool
	since      int64 // Unix ms
	start, end Clock
	quiet      int64 // Unix ms
	last       int64 // Unix ms of the latest sign of life
	due        int64 // Unix ms: the end of the next window to judge
	pos        int32 // in heap, -1 when not in it
}

// NewCheckinBook returns an empty book judging windows in loc.
func NewCheckinBook(loc *time.Location) *CheckinBook {
	if loc == nil {
		loc = time.UTC
	}
	return &CheckinBook{loc: loc, idx: make(map[string]int32)}
}

// Set adds a household or changes how it is watched, at now. A new one is
// first judged on the latest window that ended by now, if that window began
// after it was watched (so a window that ended while the hub was down is
// judged at start), else on the next.
func (b *CheckinBook) Set(w Watched, now time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	i, ok := b.idx[w.Household]
	if !ok {
		i = int32(len(b.hs))
		b.hs = append(b.hs, household{key: w.Household, pos: -1})
		b.idx[w.Household] = i
	}
	h := &b.hs[i]
	moved := !ok || h.start != w.Start || h.end != w.End || h.pos < 0 && w.Watch
	h.watch, h.since, h.start, h.end, h.quiet = w.Watch, w.Since.UnixMilli(), w.Start, w.End, millisOrZero(w.QuietUntil)
	if moved {
		h.due = b.windowEnd(now, h.start, h.end, ok)
	}
	switch {
	case h.watch && h.pos < 0:
		b.push(i)
	case !h.watch && h.pos >= 0:
		b.remove(int(h.pos))
	case h.watch:
		b.fix(int(h.pos))
	}
}

// windowEnd is the end of the first window to judge from now: for a
// household new to the book the latest one that ended by now, else the
// next one.
func (b *CheckinBook) windowEnd(now time.Time, start, end Clock, existing bool) int64 {
	local := now.In(b.loc)
	y, m, d := local.Date()
	today := at(b.loc, y, m, d, end)
	if !existing {
		if today.After(now) {
			today = at(b.loc, y, m, d-1, end)
		}
		return today.UnixMilli()
	}
	if !today.After(now) {
		today = at(b.loc, y, m, d+1, end)
	}
	return today.UnixMilli()
}

func at(loc *time.Location, y int, m time.Month, d int, c Clock) time.Time {
	return time.Date(y, m, d, int(c)/60, int(c)%60, 0, 0, loc)
}

func millisOrZero(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

// Remove forgets a household.
func (b *CheckinBook) Remove(household string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if i, ok := b.idx[household]; ok && b.hs[i].pos >= 0 {
		b.remove(int(b.hs[i].pos))
		b.hs[i].watch = false
	}
}

// Activity records a sign of life at at and reports whether the household
// is watched.
func (b *CheckinBook) Activity(household string, at time.Time) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	i, ok := b.idx[household]
	if !ok {
		return false
	}
	h := &b.hs[i]
	h.last = max(h.last, at.UnixMilli())
	return h.watch
}

// Due judges every window that ended by now: it returns the households
// that showed no sign of life in theirs (and were neither quiet then nor
// watched only since after it began), and moves each household on to its
// next window, in the order of their windows' ends, then households.
func (b *CheckinBook) Due(now time.Time) []Overdue {
	t := now.UnixMilli()
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []Overdue
	for len(b.heap) > 0 && b.hs[b.heap[0]].due <= t {
		h := &b.hs[b.heap[0]]
		end := time.UnixMilli(h.due).In(b.loc)
		y, m, d := end.Add(-time.Minute).Date() // a 24:00 end belongs to the day before
		start := at(b.loc, y, m, d, h.start)
		next := at(b.loc, y, m, d+1, h.end).UnixMilli()
		if next <= t {
			// A later window ended too (the hub was down for days):
			// only the latest is judged.
			h.due = next
			b.fix(0)
			continue
		}
		if start.UnixMilli() >= h.since && h.quiet < h.due && h.last < start.UnixMilli() {
			o := Overdue{Household: h.key, WindowStart: start, WindowEnd: end}
			if h.last > 0 {
				o.LastActivity = time.UnixMilli(h.last)
			}
			out = append(out, o)
		}
		h.due = next
		b.fix(0)
	}
	slices.SortFunc(out, func(a, b Overdue) int {
		return cmp.Or(a.WindowEnd.Compare(b.WindowEnd), strings.Compare(a.Household, b.Household))
	})
	return out
}

// Next returns when the earliest window ends, false if none is watched.
func (b *CheckinBook) Next() (time.Time, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.heap) == 0 {
		return time.Time{}, false
	}
	return time.UnixMilli(b.hs[b.heap[0]].due), true
}

// Len returns how many households are watched.
func (b *CheckinBook) Len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.heap)
}

// Status returns where a household stands on the local day of now; false
// if the book does not know it.
func (b *CheckinBook) Status(household string, now time.Time) (CheckinStatus, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	i, ok := b.idx[household]
	if !ok {
		return CheckinStatus{}, false
	}
	h := b.hs[i]
	y, m, d := now.In(b.loc).Date()
	st := CheckinStatus{Household: h.key, WindowStart: at(b.loc, y, m, d, h.start), WindowEnd: at(b.loc, y, m, d, h.end)}
	if h.last > 0 {
		st.LastActivity = time.UnixMilli(h.last)
	}
	if h.quiet > 0 {
		st.QuietUntil = time.UnixMilli(h.quiet)
	}
	t := now.UnixMilli()
	switch {
	case !h.watch:
		st.State = CheckinOff
	case h.quiet > t:
		st.State = CheckinQuiet
	case h.last >= st.WindowStart.UnixMilli():
		st.State = CheckinCheckedIn
	case st.WindowStart.UnixMilli() < h.since:
		st.State = CheckinNew
	case t < st.WindowEnd.UnixMilli():
		st.State = CheckinWaiting
	default:
		st.State = CheckinOverdue
	}
	return st, true
}

// The heap of windows' ends, by hand like Supervisor's.

func (b *CheckinBook) push(i int32) {
	b.heap = append(b.heap, i)
	b.hs[i].pos = int32(len(b.heap) - 1)
	b.up(len(b.heap) - 1)
}

func (b *CheckinBook) remove(p int) {
	n := len(b.heap) - 1
	i := b.heap[p]
	if p != n {
		b.swap(p, n)
	}
	b.heap = b.heap[:n]
	b.hs[i].pos = -1
	if p != n {
		b.fix(p)
	}
}

func (b *CheckinBook) fix(p int) {
	if !b.down(p) {
		b.up(p)
	}
}

func (b *CheckinBook) less(p, q int) bool { return b.hs[b.heap[p]].due < b.hs[b.heap[q]].due }

func (b *CheckinBook) up(p int) {
	for p > 0 {
		parent := (p - 1) / 2
		if !b.less(p, parent) {
			return
		}
		b.swap(p, parent)
		p = parent
	}
}

func (b *CheckinBook) down(p0 int) bool {
	p, n := p0, len(b.heap)
	for {
		l := 2*p + 1
		if l >= n {
			break
		}
		c := l
		if r := l + 1; r < n && b.less(r, l) {
			c = r
		}
		if !b.less(c, p) {
			break
		}
		b.swap(p, c)
		p = c
	}
	return p > p0
}

func (b *CheckinBook) swap(p, q int) {
	b.heap[p], b.heap[q] = b.heap[q], b.heap[p]
	b.hs[b.heap[p]].pos = int32(p)
	b.hs[b.heap[q]].pos = int32(q)
}

// CheckinStore keeps what staff set for households and their latest signs
// of life outside the Service's transactions (the hub's start, the
// console, the hub's periodic save of signs of life seen in telemetry).
type CheckinStore interface {
	// CheckinPlans returns every household's plan, by household.
	CheckinPlans(ctx context.Context) ([]CheckinPlan, error)
	// SetCheckinPlan stores a validated plan, replacing the household's; a
	// plan that sets nothing removes it.
	SetCheckinPlan(ctx context.Context, p CheckinPlan) error
	// Activities returns every household's latest sign of life.
	Activities(ctx context.Context) ([]Activity, error)
	// SaveActivities keeps each as its household's latest sign of life,
	// unless a later one is stored.
	SaveActivities(ctx context.Context, as []Activity) error
}

// Bounds on what staff type into a plan.
const maxQuietNote = 200

// Validate checks a plan and returns an EINVALID error naming the bad
// field.
func (p CheckinPlan) Validate() error {
	switch {
	case p.Household == "" || !utf8.ValidString(p.Household) || strings.IndexByte(p.Household, 0) >= 0:
		return shouwang.Errorf(shouwang.EINVALID, "household: required")
	case (p.Start == nil) != (p.End == nil):
		return shouwang.Errorf(shouwang.EINVALID, "start, end: give both (the household's own window) or neither (the rules' window)")
	}
	if p.Start != nil {
		if err := CheckWindow("window", *p.Start, *p.End); err != nil {
			return shouwang.Errorf(shouwang.EINVALID, "%s", strings.TrimPrefix(shouwang.ErrorMessage(err), "rules: "))
		}
	}
	return checkText("quiet_note", p.QuietNote, maxQuietNote)
}

// Empty reports whether the plan sets nothing (the household follows the
// rules).
func (p CheckinPlan) Empty() bool {
	return p.Watch == nil && p.Start == nil && p.End == nil && p.QuietUntil.IsZero() && p.QuietNote == ""
}
