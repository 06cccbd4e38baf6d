package devices

import "strings"

// HouseholdKey names the household a location is in: its community,
// building, unit and household number, which together are unique in a
// street (a household number is unique within its unit). It is "" for a
// location without a household (a gateway, a stairwell detector), which
// then belongs to no household. Keys are compared, never parsed.
func (l Location) HouseholdKey() string {
	if l.Household == "" {
		return ""
	}
	return strings.Join([]string{l.Community, l.Building, l.Unit, l.Household}, "\x1f")
}

// CompleteUnits returns how to give a location of ds the unit its
// household's other devices name, when it has none: an installer who left
// the unit out of one registration means the same household, not another
// one. A household number that devices of two units share (101 of each
// unit) is not guessed at, and a location that has a unit or no household
// is returned as it is.
func CompleteUnits(ds []*Device) func(Location) Location {
	place := func(l Location) string { return l.Community + "\x1f" + l.Building + "\x1f" + l.Household }
	const ambiguous = "\x00" // no unit name holds it (checkText)
	units := map[string]string{}
	for _, d := range ds {
		l := d.Location
		if l.Household == "" || l.Unit == "" {
			continue
		}
		k := place(l)
		if u, ok := units[k]; ok && u != l.Unit {
			l.Unit = ambiguous
		}
		units[k] = l.Unit
	}
	return func(l Location) Location {
		if u := units[place(l)]; l.Unit == "" && l.Household != "" && u != ambiguous {
			l.Unit = u
		}
		return l
	}
}

// ActivityKind reports whether a device of kind k shows a resident is up
// and about when it changes: a door contact opening or closing, a motion
// sensor seeing movement.
func ActivityKind(k Kind) bool { return k == KindDoor || k == KindMotion }

// ComparePlace orders the names of units, floors and households as people
// read them: runs of digits by their value, so "2层" comes before "10层"
// and "3-2-502" before "3-10-101"; other characters as they are.
func ComparePlace(a, b string) int {
	for a != "" && b != "" {
		da, db := digitRun(a), digitRun(b)
		if da > 0 && db > 0 {
			na, nb := strings.TrimLeft(a[:da], "0"), strings.TrimLeft(b[:db], "0")
			if c := len(na) - len(nb); c != 0 {
				return sign(c)
			}
			if c := strings.Compare(na, nb); c != 0 {
				return c
			}
			a, b = a[da:], b[db:]
			continue
		}
		if a[0] != b[0] {
			return sign(int(a[0]) - int(b[0]))
		}
		a, b = a[1:], b[1:]
	}
	return sign(len(a) - len(b))
}

func digitRun(s string) int {
	n := 0
	for n < len(s) && s[n] >= '0' && s[n] <= '9' {
		n++
	}
	return n
}

func sign(v int) int {
	switch {
	case v < 0:
		return -1
	case v > 0:
		return 1
	}
	return 0
}
