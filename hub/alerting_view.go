package hub

import (
	"github.com/shouwang-hub/shouwang/alerts"
	"github.com/shouwang-hub/shouwang/devices"
)

// The in-memory view of open alerts, per device: what telemetry consults
// so that only a reading that may matter touches the store (classify),
// kept in commit order from the commits themselves or, with several
// instances, from the change feed (alerting.go, fold.go).

// classify is the in-memory prefilter for the telemetry path (the rules
// need only the device's ID and kind): whether reading m of device d only
// adds an occurrence to an open alert, and so is folded (fold.go), or else
// whether it may change an alert and needs a store transaction.
func (a *Alerting) classify(d IndexedDevice, m *devices.Message) (fold alerts.FoldedReading, folds, matters bool) {
	a.mu.Lock()
	set := a.open[d.ID]
	a.mu.Unlock()
	dev := &devices.Device{ID: d.ID, Kind: d.Kind}
	if fold, ok := a.svc.FoldReading(dev, m, set); ok {
		return fold, true, false
	}
	return alerts.FoldedReading{}, false, a.svc.TelemetryMatters(dev, m, set)
}

// openSet is the committed view of a device's open alerts.
func (a *Alerting) openSet(deviceID string) alerts.OpenSet {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.open[deviceID]
}

// holdHouseholds keeps the full records read by a committed transaction
// for the devices that now have an open alert.
func (a *Alerting) holdHouseholds(read []*devices.Device) {
	if len(read) == 0 {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, d := range read {
		if _, ok := a.open[d.ID]; ok {
			a.homes.hold(d)
		}
	}
}

// fold updates the view of open alerts with changed alerts, which must
// come in commit order.
func (a *Alerting) fold(changed ...*alerts.Alert) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, al := range changed {
		set := a.open[al.DeviceID]
		set = set.Fold(al)
		if set.Empty() {
			delete(a.open, al.DeviceID)
			a.homes.forget(al.DeviceID)
		} else {
			a.open[al.DeviceID] = set
		}
	}
}

// foldFeed folds the change feed into the view of open alerts, with
// several instances: the feed is the one place that has every instance's
// commits in commit order (OpenSet.Fold needs that order; this instance's
// own commits, folded as they return, could land after a newer change of
// another's). A change committed here reaches the view a feed round trip
// after its commit.
func (a *Alerting) foldFeed(changes []alerts.Change) {
	als := make([]*alerts.Alert, 0, len(changes))
	for _, c := range changes {
		if c.Alert != nil {
			als = append(als, c.Alert)
		}
	}
	a.fold(als...)
}

// hasOpen reports whether the open-alert view has device id's uncleared
// alert of kind family open.
func (a *Alerting) hasOpen(id, family string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	al, ok := a.open[id].Family(family)
	return ok && !al.Cleared
}
