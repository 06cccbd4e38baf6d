package main

import (
	"context"
	"fmt"
	"sync"

	"github.com/shouwang-hub/shouwang/alerts"
	"github.com/shouwang-hub/shouwang/internal/bench"
)

// What the storm's console saw of the building alarms: every gas and smoke
// alert and every building_alarm incident, change by change, checked
// against the store at the end. The console must not be dropped as
// lagging, must see every alarm alert from its opening change on with no
// version missed, and must hold each incident's final state; an alert that
// opened while its building's incident was open must carry the incident in
// its opening change (the hub puts one change per alert per commit on the
// feed: docs/architecture.md, "The change feed").

// feedSeen is one change of an alarm alert or incident, as the console
// read it.
type feedSeen struct {
	seq, version, incident int64
	members                int // an incident's linked alerts
}

// alarmFeed records the changes of alarm alerts and incidents.
type alarmFeed struct {
	mu      sync.Mutex
	changes map[int64][]feedSeen // by alert ID, in the order read
}

func newAlarmFeed() *alarmFeed { return &alarmFeed{changes: map[int64][]feedSeen{}} }

func (f *alarmFeed) onChange(c *bench.Change) {
	switch alerts.Kind(c.Alert.Kind) {
	case alerts.KindGasLow, alerts.KindGasHigh, alerts.KindSmoke, alerts.KindBuildingAlarm:
	default:
		return
	}
	s := feedSeen{seq: c.Seq, version: c.Alert.Version, incident: c.Alert.IncidentID}
	if c.Alert.Incident != nil {
		s.members = c.Alert.Incident.Alerts
	}
	f.mu.Lock()
	f.changes[c.Alert.ID] = append(f.changes[c.Alert.ID], s)
	f.mu.Unlock()
}

// StormFeed is what the check found.
type StormFeed struct {
	Changes        int    `json:"changes"`         // changes of alarm alerts and incidents read
	Alerts         int    `json:"alerts"`          // alarm alerts in the store
	Unseen         int    `json:"unseen"`          // of them, never seen
	NoOpening      int    `json:"no_opening"`      // first seen after their opening change (version > 1)
	VersionGaps    int    `json:"version_gaps"`    // a version missed or repeated
	LinkedLate     int    `json:"linked_late"`     // opened while their incident was open, linked only in a later change
	Incidents      int    `json:"incidents"`       // building_alarm incidents in the store
	IncidentsStale int    `json:"incidents_stale"` // last seen short of their stored state
	ConsoleErr     string `json:"console_error,omitempty"`
}

// check compares what the console read with the store's alarm alerts and
// incidents.
func (f *alarmFeed) check(ctx context.Context, api *bench.API) (StormFeed, error) {
	var r StormFeed
	var all, incidents []*alerts.Alert
	for _, k := range []alerts.Kind{alerts.KindGasLow, alerts.KindGasHigh, alerts.KindSmoke} {
		list, err := api.Alerts(ctx, "kind="+string(k))
		if err != nil {
			return r, err
		}
		all = append(all, list...)
	}
	incidents, err := api.Alerts(ctx, "kind="+string(alerts.KindBuildingAlarm))
	if err != nil {
		return r, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, cs := range f.changes {
		r.Changes += len(cs)
	}
	firstSeq := func(id int64) (int64, bool) {
		if cs := f.changes[id]; len(cs) > 0 {
			return cs[0].seq, true
		}
		return 0, false
	}
	check := func(a *alerts.Alert) []feedSeen {
		cs := f.changes[a.ID]
		switch {
		case len(cs) == 0:
			r.Unseen++
			return nil
		case cs[0].version != 1:
			r.NoOpening++
		}
		for i := 1; i < len(cs); i++ {
			if cs[i].version != cs[i-1].version+1 {
				r.VersionGaps++
			}
		}
		return cs
	}
	r.Alerts, r.Incidents = len(all), len(incidents)
	for _, a := range all {
		cs := check(a)
		if len(cs) == 0 || cs[0].version != 1 || a.IncidentID == 0 {
			continue
		}
		if inc, ok := firstSeq(a.IncidentID); ok && inc < cs[0].seq && cs[0].incident != a.IncidentID {
			r.LinkedLate++
		}
	}
	for _, inc := range incidents {
		cs := check(inc)
		if len(cs) == 0 {
			continue
		}
		if last := cs[len(cs)-1]; last.version != inc.Version || last.members != inc.Incident.Alerts {
			r.IncidentsStale++
		}
	}
	return r, nil
}

func (r StormFeed) failures() []string {
	var out []string
	if r.ConsoleErr != "" {
		out = append(out, fmt.Sprintf("the console's feed ended: %s", r.ConsoleErr))
	}
	if r.Unseen+r.NoOpening+r.VersionGaps > 0 {
		out = append(out, fmt.Sprintf("alarm alerts and incidents on the console: %d unseen, %d first seen after their opening change, %d versions missed",
			r.Unseen, r.NoOpening, r.VersionGaps))
	}
	if r.LinkedLate > 0 {
		out = append(out, fmt.Sprintf("%d alarm alerts opened while their building's incident was open were linked to it only in a later change", r.LinkedLate))
	}
	if r.IncidentsStale > 0 {
		out = append(out, fmt.Sprintf("%d of %d building incidents last seen short of their final state", r.IncidentsStale, r.Incidents))
	}
	return out
}
