package alerts

import (
	"cmp"
	"slices"
	"strings"
	"time"

	"github.com/shouwang-hub/shouwang/devices"
)

// Evacuee is one household of a building, as an incident's evacuation list
// shows it: who lives there, why they come first, whom to call.
type Evacuee struct {
	Household  string             `json:"household"`
	Unit       string             `json:"unit,omitempty"`
	Floor      string             `json:"floor,omitempty"`
	Resident   devices.Resident   `json:"resident"`
	Age        int                `json:"age,omitempty"` // 0 when the birth year is not known
	Contacts   []devices.Contact  `json:"contacts,omitempty"`
	GridWorker devices.GridWorker `json:"grid_worker"`
	// Reasons are why the household comes where it does, as codes:
	// lives_alone, mobility (a care note says so), age_80, age_70.
	Reasons []string `json:"reasons,omitempty"`
	Devices []string `json:"devices"`
}

// Evacuation reasons.
const (
	ReasonLivesAlone = "lives_alone"
	ReasonMobility   = "mobility"
	ReasonAge80      = "age_80"
	ReasonAge70      = "age_70"
)

// Evacuation lists the households of a building's devices in the order to
// reach them: residents living alone first, then by age band (80 and over,
// 70 and over), then those whose care notes name a mobility need
// (rules.Mobility), then older before younger, higher floors before lower.
// Devices without a household (a stairwell, a gateway) are left out; the
// devices of one household are merged (its resident from the first that
// names one, contacts without repeats), including one registered without
// the unit or floor the others give (devices.CompleteUnits).
func Evacuation(ds []*devices.Device, rules EvacuationRules, now time.Time) []Evacuee {
	byKey := map[string]*Evacuee{}
	var order []string
	complete := devices.CompleteUnits(ds)
	for _, d := range ds {
		l := complete(d.Location)
		key := l.HouseholdKey()
		if key == "" {
			continue
		}
		e := byKey[key]
		if e == nil {
			e = &Evacuee{Household: l.Household, Unit: l.Unit}
			byKey[key] = e
			order = append(order, key)
		}
		if e.Floor == "" {
			e.Floor = l.Floor
		}
		merge(e, d)
	}
	out := make([]Evacuee, 0, len(order))
	for _, key := range order {
		e := byKey[key]
		if y := e.Resident.BirthYear; y > 0 {
			e.Age = now.Year() - y
		}
		if e.Resident.LivesAlone {
			e.Reasons = append(e.Reasons, ReasonLivesAlone)
		}
		switch {
		case e.Age >= 80:
			e.Reasons = append(e.Reasons, ReasonAge80)
		case e.Age >= 70:
			e.Reasons = append(e.Reasons, ReasonAge70)
		}
		if mentions(e.Resident.CareNotes, rules.Mobility) {
			e.Reasons = append(e.Reasons, ReasonMobility)
		}
		out = append(out, *e)
	}
	slices.SortStableFunc(out, func(a, b Evacuee) int {
		return cmp.Or(
			-cmp.Compare(b2i(a.Resident.LivesAlone), b2i(b.Resident.LivesAlone)),
			-cmp.Compare(ageBand(a.Age), ageBand(b.Age)),
			-cmp.Compare(b2i(slices.Contains(a.Reasons, ReasonMobility)), b2i(slices.Contains(b.Reasons, ReasonMobility))),
			-cmp.Compare(a.Age, b.Age),
			-devices.ComparePlace(a.Floor, b.Floor),
			devices.ComparePlace(a.Unit, b.Unit),
			devices.ComparePlace(a.Household, b.Household),
		)
	})
	return out
}

func merge(e *Evacuee, d *devices.Device) {
	e.Devices = append(e.Devices, d.ID)
	r := d.Resident
	if e.Resident.Name == "" {
		e.Resident = r
	} else {
		e.Resident.LivesAlone = e.Resident.LivesAlone || r.LivesAlone
		if e.Resident.BirthYear == 0 {
			e.Resident.BirthYear = r.BirthYear
		}
		switch {
		case e.Resident.CareNotes == "":
			e.Resident.CareNotes = r.CareNotes
		case r.CareNotes != "" && !strings.Contains(e.Resident.CareNotes, r.CareNotes):
			e.Resident.CareNotes += "; " + r.CareNotes
		}
	}
	for _, c := range d.Contacts {
		if !slices.ContainsFunc(e.Contacts, func(x devices.Contact) bool { return x.Phone == c.Phone }) {
			e.Contacts = append(e.Contacts, c)
		}
	}
	if e.GridWorker.Name == "" {
		e.GridWorker = d.GridWorker
	}
}

func mentions(notes string, words []string) bool {
	l := strings.ToLower(notes)
	for _, w := range words {
		if w != "" && strings.Contains(l, strings.ToLower(w)) {
			return true
		}
	}
	return false
}

func ageBand(age int) int {
	switch {
	case age >= 80:
		return 2
	case age >= 70:
		return 1
	}
	return 0
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
