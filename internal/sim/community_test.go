package sim

import (
	"bytes"
	"math/rand/v2"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/shouwang-hub/shouwang/devices"
)

func TestCommunityValidatesAndMixesKinds(t *testing.T) {
	const buildings, perBuilding = 10, 20 // 200 households
	ds := Community("阳光社区", buildings, perBuilding, rand.New(rand.NewPCG(42, 42)))

	ids := map[string]bool{}
	byKind := map[devices.Kind]int{}
	homes := map[string][]*devices.Device{} // household → its devices
	grids := map[string]devices.GridWorker{}
	voice := 0
	idForm := map[devices.Kind]*regexp.Regexp{
		devices.KindSOSButton: regexp.MustCompile(`^sos-\d{4}$`),
		devices.KindSmoke:     regexp.MustCompile(`^smk-\d{4}$`),
		devices.KindGas:       regexp.MustCompile(`^gas-\d{4}$`),
		devices.KindAir:       regexp.MustCompile(`^air-\d{4}$`),
	}
	household := regexp.MustCompile(`^\d+-\d+-\d+0\d$`)
	phone := regexp.MustCompile(`^1\d\d-\d{4}-\d{4}$`)
	for _, d := range ds {
		if err := d.Validate(); err != nil {
			t.Fatalf("%s: %v", d.ID, err)
		}
		if ids[d.ID] {
			t.Fatalf("duplicate id %s", d.ID)
		}
		ids[d.ID] = true
		if !idForm[d.Kind].MatchString(d.ID) {
			t.Errorf("%s: id does not match its kind %s", d.ID, d.Kind)
		}
		byKind[d.Kind]++
		if d.HasCapability(devices.CapVoice) {
			if d.Kind != devices.KindSOSButton {
				t.Errorf("%s: a %s with voice", d.ID, d.Kind)
			}
			voice++
		}
		l, r := d.Location, d.Resident
		if l.Community != "阳光社区" || !strings.HasPrefix(l.Grid, "网格") || !strings.HasSuffix(l.Building, "号楼") ||
			!strings.HasSuffix(l.Unit, "单元") || !household.MatchString(l.Household) {
			t.Errorf("%s: location %+v", d.ID, l)
		}
		if r.Name == "" || r.BirthYear < 1930 || r.BirthYear > 1960 || r.Language == "" {
			t.Errorf("%s: resident %+v", d.ID, r)
		}
		if len(d.Contacts) == 0 {
			t.Errorf("%s: no contacts", d.ID)
		}
		for _, c := range d.Contacts {
			if !phone.MatchString(c.Phone) || (c.Relation != "儿子" && c.Relation != "女儿" && c.Relation != "邻居") {
				t.Errorf("%s: contact %+v", d.ID, c)
			}
		}
		if w, seen := grids[l.Grid]; seen && w != d.GridWorker {
			t.Errorf("grid %s has two workers: %+v and %+v", l.Grid, w, d.GridWorker)
		}
		grids[l.Grid] = d.GridWorker
		if d.GridWorker.Name == "" || !phone.MatchString(d.GridWorker.Phone) {
			t.Errorf("%s: grid worker %+v", d.ID, d.GridWorker)
		}
		homes[l.Building+"/"+l.Household] = append(homes[l.Building+"/"+l.Household], d)
	}

	if len(homes) != buildings*perBuilding {
		t.Fatalf("%d households, want %d", len(homes), buildings*perBuilding)
	}
	if len(grids) != buildings/2 {
		t.Errorf("%d grids, want one per two buildings (%d)", len(grids), buildings/2)
	}
	alone := 0
	for h, hd := range homes {
		smoke := 0
		for _, d := range hd {
			if d.Kind == devices.KindSmoke {
				smoke++
			}
			if !reflect.DeepEqual(d.Resident, hd[0].Resident) || d.Location != hd[0].Location {
				t.Errorf("%s: devices disagree on resident or location", h)
			}
		}
		if smoke != 1 {
			t.Errorf("%s: %d smoke detectors, want 1", h, smoke)
		}
		if hd[0].Resident.LivesAlone {
			alone++
		}
	}
	// The documented mix, with room for chance over 200 households.
	n := float64(len(homes))
	share := func(k devices.Kind) float64 { return float64(byKind[k]) / n }
	for _, c := range []struct {
		what     string
		got      float64
		lo, hi   float64
		expected float64
	}{
		{"sos buttons", share(devices.KindSOSButton), 0.75, 0.95, shareSOS},
		{"gas detectors", share(devices.KindGas), 0.58, 0.82, shareGas},
		{"air monitors", share(devices.KindAir), 0.15, 0.35, shareAir},
		{"voice buttons", float64(voice) / float64(byKind[devices.KindSOSButton]), 0.28, 0.52, shareVoice},
		{"residents alone", float64(alone) / n, 0.30, 0.50, shareLiveAlone},
	} {
		if c.got < c.lo || c.got > c.hi {
			t.Errorf("%s: share %.2f, want about %.2f", c.what, c.got, c.expected)
		}
	}
}

func TestCommunityIsReproducible(t *testing.T) {
	a := Community("阳光社区", 3, 5, rand.New(rand.NewPCG(1, 2)))
	b := Community("阳光社区", 3, 5, rand.New(rand.NewPCG(1, 2)))
	if !reflect.DeepEqual(a, b) {
		t.Error("the same seed gave two communities")
	}
	if len(Community("x", 0, 5, nil)) != 0 {
		t.Error("no buildings gave devices")
	}
}

// TestCommunityRoundTripsThroughCSV checks that the import format carries a
// generated community whole, which Register and LoadCredentials rely on.
func TestCommunityRoundTripsThroughCSV(t *testing.T) {
	ds := Community("阳光社区", 2, 6, rand.New(rand.NewPCG(3, 3)))
	var buf bytes.Buffer
	if err := devices.WriteCSV(&buf, ds); err != nil {
		t.Fatal(err)
	}
	back, rowErrs, err := devices.ParseCSV(&buf)
	if err != nil || len(rowErrs) > 0 {
		t.Fatalf("ParseCSV: %v %v", err, rowErrs)
	}
	if !reflect.DeepEqual(back, ds) {
		t.Errorf("CSV round trip changed the devices")
	}
}

// TestReadingsStayInRange drives every kind's readings, including alarms,
// for many steps and decodes each report.
func TestReadingsStayInRange(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	now := time.Now()
	for _, k := range devices.Kinds {
		r := newReadings(k, rng)
		for i := range 5000 {
			switch i {
			case 1000:
				r.pin("smoke", smokeAlarm)
				r.pin("lel", 100)
			case 2000:
				r.unpin("smoke")
				r.unpin("lel")
			}
			p := telemetryPayload(uint64(i+1), now, r.next(rng))
			m, err := devices.Decode(devices.DefaultLimits, k, devices.ChannelTelemetry, p, now)
			if err != nil {
				t.Fatalf("%s step %d: %s: %v", k, i, p, err)
			}
			if len(m.Telemetry.Fields) != len(nativeFields[k]) {
				t.Fatalf("%s: %s lacks fields", k, p)
			}
		}
		st := onlinePayload(DefaultFirmware, r.values["battery"], r.values["signal"])
		if _, err := devices.Decode(devices.DefaultLimits, k, devices.ChannelStatus, st, now); err != nil {
			t.Errorf("%s status %s: %v", k, st, err)
		}
		if _, err := devices.Decode(devices.DefaultLimits, k, devices.ChannelStatus, offlinePayload, now); err != nil {
			t.Errorf("%s offline %s: %v", k, offlinePayload, err)
		}
	}
	lel := 27.5
	p := eventPayload(7, now, devices.EventGas, &lel)
	m, err := devices.Decode(devices.DefaultLimits, devices.KindGas, devices.ChannelEvent, p, now)
	if err != nil || m.Event.LEL == nil || *m.Event.LEL != lel || m.Seq != 7 {
		t.Errorf("gas event %s: %+v, %v", p, m, err)
	}
}
