package hub

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"

	"github.com/shouwang-hub/shouwang"
	"github.com/shouwang-hub/shouwang/devices"
)

// DeviceIndex is the hub's in-memory view of the registry, so routing a
// message never waits on the database. The console tells the hub when a
// device changes and the index reloads that one device.
//
// It keeps only what the hot paths need on every message — the kind (to
// decode), the InfluxDB tags (community, grid, building), voice capability
// and whether the device was ever heard from — and keeps it compactly, a
// million devices in about 55 MB: a 24-byte record per device in a slice,
// found through a compact hash table from ID to slot (slotTable), the ID
// itself, and the kind and the place interned (a building's devices share
// one Location; the kinds are few). The full record — resident, contacts,
// grid worker — is read from the store by Full when an alert needs it,
// which is rare next to telemetry.
//
// A slot belongs to one ID for the life of the index: a removed device
// leaves its slot empty, and the same ID registered again gets it back.
// Supervision names devices by slot.
type DeviceIndex struct {
	src IndexSource

	mu      sync.RWMutex
	slots   slotTable      // every ID the index has held, removed ones too
	recs    []indexRec     // by slot
	live    int            // records not removed
	kinds   []devices.Kind // interned; indexRec.kind indexes it
	places  []*devices.Location
	placeOf map[place]int32
}

// indexRec is one device in the index.
type indexRec struct {
	id    string
	place int32 // index into places
	kind  uint8 // index into kinds
	flags uint8
}

const (
	recRemoved uint8 = 1 << iota
	recVoice
	recHeard
	recVendor
)

// place is the part of a location the index keeps: the InfluxDB tags.
type place struct{ community, grid, building string }

// IndexedDevice is what the index knows of a registered device.
type IndexedDevice struct {
	ID   string
	Kind devices.Kind
	// Location holds Community, Grid and Building only. It is shared by
	// every device at the same place: treat it as read-only.
	Location *devices.Location
	// Voice says the device may place voice calls.
	Voice bool
	// HeardFrom says the device had been heard from (had a last-seen time)
	// when the index last read it from the store.
	HeardFrom bool
	// Vendor says the device speaks a vendor dialect (Zigbee2MQTT,
	// Shelly): it reports state when it changes and its availability, not
	// native heartbeats, so it is not watched for silence by heartbeat.
	Vendor bool
}

// IndexSource is what the index loads from.
type IndexSource interface {
	// CountDevices returns how many devices are registered: a size hint.
	CountDevices(ctx context.Context) (int, error)
	// LoadDeviceIndex calls fn for every registered device, with at least
	// ID, Kind, Capabilities, Community, Grid, Building and LastSeen set.
	// fn may keep what it reads from d, but not d.
	LoadDeviceIndex(ctx context.Context, fn func(d *devices.Device) error) error
	// FindDevice returns a device's full record, or an ENOTFOUND error.
	FindDevice(ctx context.Context, id string) (*devices.Device, error)
}

// LoadIndex reads every registered device. The index reads full records
// from src later (Full).
func LoadIndex(ctx context.Context, src IndexSource) (*DeviceIndex, error) {
	n, err := src.CountDevices(ctx)
	if err != nil {
		return nil, fmt.Errorf("load device index: %w", err)
	}
	// A little room for devices registered while the hub runs.
	n += n/64 + 16
	x := &DeviceIndex{
		src:     src,
		slots:   newSlotTable(n),
		recs:    make([]indexRec, 0, n),
		placeOf: make(map[place]int32),
	}
	if err := x.load(ctx, src); err != nil {
		return nil, fmt.Errorf("load device index: %w", err)
	}
	return x, nil
}

// load reads every device from src into the index and removes the ones src
// no longer has. Each row takes the lock on its own, so a reload does not
// stall routing for the seconds a million rows take. A slot handed out
// meanwhile (by Refresh) is left as it is.
func (x *DeviceIndex) load(ctx context.Context, src IndexSource) error {
	x.mu.RLock()
	before := len(x.recs)
	x.mu.RUnlock()
	seen := make([]uint64, before/64+1) // slots loaded this time
	err := src.LoadDeviceIndex(ctx, func(d *devices.Device) error {
		x.mu.Lock()
		slot, err := x.put(d)
		x.mu.Unlock()
		if err != nil {
			return err
		}
		for int(slot)/64 >= len(seen) {
			seen = append(seen, 0)
		}
		seen[slot/64] |= 1 << (slot % 64)
		return nil
	})
	if err != nil {
		return err
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	for slot := range before {
		if seen[slot/64]&(1<<(slot%64)) == 0 {
			x.remove(int32(slot))
		}
	}
	return nil
}

// put adds or updates device d and returns its slot. x.mu must be held.
func (x *DeviceIndex) put(d *devices.Device) (int32, error) {
	kind, err := x.kindIndex(d.Kind)
	if err != nil {
		return 0, err
	}
	var flags uint8
	if d.HasCapability(devices.CapVoice) {
		flags |= recVoice
	}
	if !d.Health.LastSeen.IsZero() {
		flags |= recHeard
	}
	if d.Source != "" && d.Source != devices.SourceNative {
		flags |= recVendor
	}
	r := indexRec{id: d.ID, place: x.placeIndex(d.Location), kind: kind, flags: flags}
	if slot, ok := x.slots.find(d.ID, x.recs); ok {
		if x.recs[slot].flags&recRemoved != 0 {
			x.live++
		}
		r.id = x.recs[slot].id // keep the copy the index has
		x.recs[slot] = r
		return slot, nil
	}
	if len(x.recs) == math.MaxInt32-1 {
		return 0, errors.New("more devices than the index can hold")
	}
	slot := int32(len(x.recs))
	x.recs = append(x.recs, r)
	x.slots.insert(slot, x.recs)
	x.live++
	return slot, nil
}

// remove empties a slot. x.mu must be held.
func (x *DeviceIndex) remove(slot int32) {
	if r := &x.recs[slot]; r.flags&recRemoved == 0 {
		r.flags = recRemoved
		x.live--
	}
}

func (x *DeviceIndex) kindIndex(k devices.Kind) (uint8, error) {
	for i, known := range x.kinds {
		if known == k {
			return uint8(i), nil
		}
	}
	if len(x.kinds) > math.MaxUint8 {
		return 0, fmt.Errorf("device kind %q: more kinds than the index can hold", k)
	}
	x.kinds = append(x.kinds, k)
	return uint8(len(x.kinds) - 1), nil
}

func (x *DeviceIndex) placeIndex(l devices.Location) int32 {
	p := place{l.Community, l.Grid, l.Building}
	if i, ok := x.placeOf[p]; ok {
		return i
	}
	i := int32(len(x.places))
	x.places = append(x.places, &devices.Location{Community: l.Community, Grid: l.Grid, Building: l.Building})
	x.placeOf[p] = i
	return i
}

// device is the IndexedDevice of a record. x.mu must be held.
func (x *DeviceIndex) device(r indexRec) IndexedDevice {
	return IndexedDevice{
		ID: r.id, Kind: x.kinds[r.kind], Location: x.places[r.place],
		Voice: r.flags&recVoice != 0, HeardFrom: r.flags&recHeard != 0,
		Vendor: r.flags&recVendor != 0,
	}
}

// Get returns the registered device with the given ID.
func (x *DeviceIndex) Get(id string) (d IndexedDevice, ok bool) {
	x.mu.RLock()
	if slot, found := x.slots.find(id, x.recs); found && x.recs[slot].flags&recRemoved == 0 {
		d, ok = x.device(x.recs[slot]), true
	}
	x.mu.RUnlock()
	return d, ok
}

// lookup returns the slot the ID has or had (-1 if it never had one), and
// the device if it is registered.
func (x *DeviceIndex) lookup(id string) (slot int32, d IndexedDevice, ok bool) {
	x.mu.RLock()
	slot, found := x.slots.find(id, x.recs)
	switch {
	case !found:
		slot = -1
	case x.recs[slot].flags&recRemoved == 0:
		d, ok = x.device(x.recs[slot]), true
	}
	x.mu.RUnlock()
	return slot, d, ok
}

// at returns the device in a slot, if it is registered.
func (x *DeviceIndex) at(slot int32) (IndexedDevice, bool) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	if slot < 0 || int(slot) >= len(x.recs) || x.recs[slot].flags&recRemoved != 0 {
		return IndexedDevice{}, false
	}
	return x.device(x.recs[slot]), true
}

// each calls fn with every registered device and its slot, holding the
// read lock: fn must not call the index.
func (x *DeviceIndex) each(fn func(slot int32, d IndexedDevice)) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	for slot, r := range x.recs {
		if r.flags&recRemoved == 0 {
			fn(int32(slot), x.device(r))
		}
	}
}

// slotCount returns how many slots the index has handed out.
func (x *DeviceIndex) slotCount() int {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return len(x.recs)
}

// Full reads the full record of device id from the store: resident,
// contacts, grid worker and all, for an alert's snapshot. It returns nil
// and no error when the device is not registered.
func (x *DeviceIndex) Full(ctx context.Context, id string) (*devices.Device, error) {
	d, err := x.src.FindDevice(ctx, id)
	if shouwang.ErrorCode(err) == shouwang.ENOTFOUND {
		return nil, nil
	} else if err != nil {
		return nil, fmt.Errorf("read device %s: %w", id, err)
	}
	return d, nil
}

// Len returns the number of registered devices.
func (x *DeviceIndex) Len() int {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.live
}

// Refresh reloads one device from src, or drops it if it is gone.
func (x *DeviceIndex) Refresh(ctx context.Context, src IndexSource, id string) error {
	d, err := src.FindDevice(ctx, id)
	if shouwang.ErrorCode(err) == shouwang.ENOTFOUND {
		x.mu.Lock()
		if slot, ok := x.slots.find(id, x.recs); ok {
			x.remove(slot)
		}
		x.mu.Unlock()
		return nil
	} else if err != nil {
		return fmt.Errorf("refresh device %s: %w", id, err)
	}
	x.mu.Lock()
	_, err = x.put(d)
	x.mu.Unlock()
	if err != nil {
		return fmt.Errorf("refresh device %s: %w", id, err)
	}
	return nil
}

// Reload reads the whole registry again, after a bulk import. Devices keep
// their slots.
func (x *DeviceIndex) Reload(ctx context.Context, src IndexSource) error {
	if err := x.load(ctx, src); err != nil {
		return fmt.Errorf("reload device index: %w", err)
	}
	return nil
}
