// Package consoletest provides small in-memory fakes of devices.Registry,
// accounts.Store and console.AlertService, for tests of the console and
// of its clients such as hubctl. They keep the contracts the real stores keep
// (error codes, all-or-nothing imports, token expiry, the alert life cycle's
// refusals) and nothing more.
package consoletest

import (
	"cmp"
	"context"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/shouwang-hub/shouwang"
	"github.com/shouwang-hub/shouwang/devices"
)

// Registry is an in-memory devices.Registry.
type Registry struct {
	mu           sync.Mutex
	devices      map[string]*devices.Device
	hashes       map[string]string
	unregistered []devices.Unregistered
	// Fail, if set, is returned by every method: a broken store.
	Fail error
}

var _ devices.Registry = (*Registry)(nil)

// NewRegistry returns an empty registry.
func NewRegistry() *Registry {
	return &Registry{devices: make(map[string]*devices.Device), hashes: make(map[string]string)}
}

func clone(d *devices.Device) *devices.Device {
	c := *d
	c.Capabilities = slices.Clone(d.Capabilities)
	c.Contacts = slices.Clone(d.Contacts)
	return &c
}

func notFound(id string) error { return shouwang.Errorf(shouwang.ENOTFOUND, "device %q not found", id) }

// CreateDevice implements devices.Registry.
func (r *Registry) CreateDevice(ctx context.Context, d *devices.Device, hash string) error {
	return r.ImportDevices(ctx, []*devices.Device{d}, []string{hash})
}

// ImportDevices implements devices.Registry.
func (r *Registry) ImportDevices(_ context.Context, ds []*devices.Device, hashes []string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.Fail != nil {
		return r.Fail
	}
	for _, d := range ds {
		if _, ok := r.devices[d.ID]; ok {
			return shouwang.Errorf(shouwang.ECONFLICT, "device %q already registered", d.ID)
		}
	}
	now := time.Now().UTC()
	for i, d := range ds {
		c := clone(d)
		c.CreatedAt, c.UpdatedAt = now, now
		r.devices[d.ID] = c
		r.hashes[d.ID] = hashes[i]
	}
	return nil
}

// FindDevice implements devices.Registry.
func (r *Registry) FindDevice(_ context.Context, id string) (*devices.Device, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.Fail != nil {
		return nil, r.Fail
	}
	d, ok := r.devices[id]
	if !ok {
		return nil, notFound(id)
	}
	return clone(d), nil
}

// ListDevices implements devices.Registry, ordered by ID.
func (r *Registry) ListDevices(_ context.Context, f devices.Filter) ([]*devices.Device, int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.Fail != nil {
		return nil, 0, r.Fail
	}
	var all []*devices.Device
	for _, d := range r.devices {
		if matches(d, f) {
			all = append(all, clone(d))
		}
	}
	slices.SortFunc(all, func(a, b *devices.Device) int { return cmp.Compare(a.ID, b.ID) })
	total := len(all)
	all = all[min(f.Offset, total):]
	if limit := cmp.Or(f.Limit, 100); len(all) > limit {
		all = all[:limit]
	}
	return all, total, nil
}

func matches(d *devices.Device, f devices.Filter) bool {
	l := d.Location
	switch {
	case f.Community != "" && l.Community != f.Community,
		f.Grid != "" && l.Grid != f.Grid,
		f.Building != "" && l.Building != f.Building,
		f.Kind != "" && d.Kind != f.Kind,
		f.Online != nil && d.Health.Online != *f.Online:
		return false
	}
	return f.Query == "" || strings.Contains(d.ID, f.Query) ||
		strings.Contains(d.Resident.Name, f.Query) || strings.Contains(l.Household, f.Query)
}

// UpdateDevice implements devices.Registry.
func (r *Registry) UpdateDevice(_ context.Context, d *devices.Device) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.Fail != nil {
		return r.Fail
	}
	old, ok := r.devices[d.ID]
	if !ok {
		return notFound(d.ID)
	}
	c := clone(d)
	c.Health, c.CreatedAt, c.UpdatedAt = old.Health, old.CreatedAt, time.Now().UTC()
	r.devices[d.ID] = c
	return nil
}

// DeleteDevice implements devices.Registry.
func (r *Registry) DeleteDevice(_ context.Context, id string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.Fail != nil {
		return r.Fail
	}
	if _, ok := r.devices[id]; !ok {
		return notFound(id)
	}
	delete(r.devices, id)
	delete(r.hashes, id)
	return nil
}

// SetPasswordHash implements devices.Registry.
func (r *Registry) SetPasswordHash(_ context.Context, id, hash string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.Fail != nil {
		return r.Fail
	}
	if _, ok := r.devices[id]; !ok {
		return notFound(id)
	}
	r.hashes[id] = hash
	return nil
}

// PasswordHash implements devices.Registry.
func (r *Registry) PasswordHash(_ context.Context, id string) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.Fail != nil {
		return "", r.Fail
	}
	h, ok := r.hashes[id]
	if !ok {
		return "", notFound(id)
	}
	return h, nil
}

// UpdateHealth implements devices.Registry.
func (r *Registry) UpdateHealth(_ context.Context, updates []devices.HealthUpdate) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.Fail != nil {
		return r.Fail
	}
	for _, u := range updates {
		d, ok := r.devices[u.ID]
		if !ok {
			continue
		}
		d.Health.LastSeen = u.LastSeen
		if u.Online != nil {
			d.Health.Online = *u.Online
		}
		if u.Battery != nil {
			d.Health.Battery = u.Battery
		}
		if u.Signal != nil {
			d.Health.Signal = u.Signal
		}
	}
	return nil
}

// RecordUnregistered implements devices.Registry.
func (r *Registry) RecordUnregistered(_ context.Context, id, detail string, at time.Time) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.Fail != nil {
		return r.Fail
	}
	for i, u := range r.unregistered {
		if u.ID == id {
			u.LastSeen, u.Detail = at, detail
			u.Count++
			r.unregistered = append(append([]devices.Unregistered{u}, r.unregistered[:i]...), r.unregistered[i+1:]...)
			return nil
		}
	}
	u := devices.Unregistered{ID: id, FirstSeen: at, LastSeen: at, Count: 1, Detail: detail}
	r.unregistered = append([]devices.Unregistered{u}, r.unregistered...)
	return nil
}

// ListUnregistered implements devices.Registry.
func (r *Registry) ListUnregistered(context.Context) ([]devices.Unregistered, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.Fail != nil {
		return nil, r.Fail
	}
	return slices.Clone(r.unregistered), nil
}

// Len returns the number of registered devices.
func (r *Registry) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.devices)
}
