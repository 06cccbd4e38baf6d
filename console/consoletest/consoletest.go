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

// Registry is an in-memory devices.Registry that keeps the SQL store's
// contract (hub/sqlstore/storetest holds it to it): validation, error codes
// and messages, all-or-nothing imports, listing order and limits, health
// that never moves LastSeen back, and the bounded unregistered list.
type Registry struct {
	mu           sync.Mutex
	now          func() time.Time
	devices      map[string]*devices.Device
	hashes       map[string]string
	unregistered map[string]*devices.Unregistered
	onlineAt     map[string]time.Time // when Online was last set, as the SQL store's online_at
	// Fail, if set, is returned by every method: a broken store.
	Fail error
}

var _ devices.Registry = (*Registry)(nil)

// Limits the SQL store keeps.
const (
	defaultListLimit = 100
	maxListLimit     = 1000
	maxUnregistered  = 1000
)

// NewRegistry returns an empty registry on the wall clock.
func NewRegistry() *Registry {
	return &Registry{now: time.Now, devices: make(map[string]*devices.Device), hashes: make(map[string]string),
		unregistered: make(map[string]*devices.Unregistered)}
}

// SetClock replaces the clock read for creation and update times; nil is
// the wall clock.
func (r *Registry) SetClock(now func() time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if now == nil {
		now = time.Now
	}
	r.now = now
}

// stamp is now as the store keeps times: to the millisecond, in UTC.
func (r *Registry) stamp() time.Time { return r.now().Truncate(time.Millisecond).UTC() }

func clone(d *devices.Device) *devices.Device {
	c := *d
	c.Capabilities = slices.Clone(d.Capabilities)
	c.Contacts = slices.Clone(d.Contacts)
	if len(c.Capabilities) == 0 {
		c.Capabilities = nil
	}
	if len(c.Contacts) == 0 {
		c.Contacts = nil
	}
	c.Health.Battery, c.Health.Signal = cloneF(d.Health.Battery), cloneF(d.Health.Signal)
	return &c
}

func cloneF(v *float64) *float64 {
	if v == nil {
		return nil
	}
	c := *v
	return &c
}

func notFound(id string) error {
	return shouwang.Errorf(shouwang.ENOTFOUND, "device %q is not registered", id)
}

// CreateDevice implements devices.Registry.
func (r *Registry) CreateDevice(ctx context.Context, d *devices.Device, hash string) error {
	return r.ImportDevices(ctx, []*devices.Device{d}, []string{hash})
}

// ImportDevices implements devices.Registry: all or nothing.
func (r *Registry) ImportDevices(_ context.Context, ds []*devices.Device, hashes []string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.Fail != nil {
		return r.Fail
	}
	if err := devices.ValidateImport(ds, hashes); err != nil {
		return err
	}
	seen := make(map[string]bool, len(ds))
	for _, d := range ds {
		if _, ok := r.devices[d.ID]; ok || seen[d.ID] {
			return shouwang.Errorf(shouwang.ECONFLICT, "device %q is already registered", d.ID)
		}
		seen[d.ID] = true
	}
	now := r.stamp()
	for i, d := range ds {
		c := clone(d)
		c.Health = devices.Health{}
		c.CreatedAt, c.UpdatedAt = now, now
		r.devices[d.ID] = c
		r.hashes[d.ID] = hashes[i]
		d.CreatedAt, d.UpdatedAt = now, now
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
	if f.Offset < 0 || f.Limit < 0 {
		return nil, 0, shouwang.Errorf(shouwang.EINVALID, "offset and limit must not be negative")
	}
	var all []*devices.Device
	for _, d := range r.devices {
		if matches(d, f) {
			all = append(all, d)
		}
	}
	slices.SortFunc(all, func(a, b *devices.Device) int { return cmp.Compare(a.ID, b.ID) })
	total := len(all)
	all = all[min(f.Offset, total):]
	if limit := min(cmp.Or(f.Limit, defaultListLimit), maxListLimit); len(all) > limit {
		all = all[:limit]
	}
	out := make([]*devices.Device, len(all))
	for i, d := range all {
		out[i] = clone(d)
	}
	return out, total, nil
}

// matches is the SQL store's WHERE: exact location and kind, and Query a
// substring of the ID, the resident's name or the household, ASCII
// letters in any case (SQLite's LOWER folds ASCII only).
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
	q := asciiLower(f.Query)
	return q == "" || strings.Contains(asciiLower(d.ID), q) ||
		strings.Contains(asciiLower(d.Resident.Name), q) || strings.Contains(asciiLower(l.Household), q)
}

func asciiLower(s string) string {
	return strings.Map(func(r rune) rune {
		if 'A' <= r && r <= 'Z' {
			return r + 'a' - 'A'
		}
		return r
	}, s)
}

// UpdateDevice implements devices.Registry: the installer's fields; health,
// password and CreatedAt stay.
func (r *Registry) UpdateDevice(_ context.Context, d *devices.Device) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.Fail != nil {
		return r.Fail
	}
	if err := d.Validate(); err != nil {
		return err
	}
	old, ok := r.devices[d.ID]
	if !ok {
		return notFound(d.ID)
	}
	c := clone(d)
	c.Health, c.CreatedAt, c.UpdatedAt = old.Health, old.CreatedAt, r.stamp()
	r.devices[d.ID] = c
	d.UpdatedAt = c.UpdatedAt
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
	if hash == "" {
		return shouwang.Errorf(shouwang.EINVALID, "device %q: empty password hash", id)
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

// UpdateHealth implements devices.Registry: nil pointers and a zero
// LastSeen keep what is stored, and LastSeen never moves back.
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
		if seen := u.LastSeen.Truncate(time.Millisecond).UTC(); !u.LastSeen.IsZero() && seen.After(d.Health.LastSeen) {
			d.Health.LastSeen = seen
		}
		if u.Online != nil {
			// A late status does not undo a newer one (as the SQL store).
			at, set := r.onlineAt[u.ID]
			seen := u.LastSeen.Truncate(time.Millisecond)
			if u.LastSeen.IsZero() || !set || !at.After(seen) {
				d.Health.Online = *u.Online
			}
			if !u.LastSeen.IsZero() && (!set || at.Before(seen)) {
				if r.onlineAt == nil {
					r.onlineAt = map[string]time.Time{}
				}
				r.onlineAt[u.ID] = seen
			}
		}
		if u.Battery != nil {
			d.Health.Battery = cloneF(u.Battery)
		}
		if u.Signal != nil {
			d.Health.Signal = cloneF(u.Signal)
		}
	}
	return nil
}

// RecordUnregistered implements devices.Registry: IDs and details are
// clipped, the first and last times kept apart, the detail of the latest
// kept; a zero at is now.
func (r *Registry) RecordUnregistered(_ context.Context, id, detail string, at time.Time) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.Fail != nil {
		return r.Fail
	}
	if id == "" {
		return shouwang.Errorf(shouwang.EINVALID, "unregistered device: empty id")
	}
	if at.IsZero() {
		at = r.now()
	}
	at = at.Truncate(time.Millisecond).UTC()
	id, detail = devices.ClipText(id, devices.MaxUnregisteredID), devices.ClipText(detail, devices.MaxUnregisteredDetail)
	u, ok := r.unregistered[id]
	if !ok {
		r.unregistered[id] = &devices.Unregistered{ID: id, FirstSeen: at, LastSeen: at, Count: 1, Detail: detail}
		r.pruneUnregistered()
		return nil
	}
	u.Count++
	if at.Before(u.FirstSeen) {
		u.FirstSeen = at
	}
	if !at.Before(u.LastSeen) {
		u.LastSeen, u.Detail = at, detail
	}
	return nil
}

// pruneUnregistered keeps the maxUnregistered most recently seen, as the
// SQL store does, once the list has grown well past that.
func (r *Registry) pruneUnregistered() {
	if len(r.unregistered) <= maxUnregistered+64 {
		return
	}
	all := make([]*devices.Unregistered, 0, len(r.unregistered))
	for _, u := range r.unregistered {
		all = append(all, u)
	}
	slices.SortFunc(all, func(a, b *devices.Unregistered) int { return b.LastSeen.Compare(a.LastSeen) })
	for _, u := range all[maxUnregistered:] {
		delete(r.unregistered, u.ID)
	}
}

// ListUnregistered implements devices.Registry: not registered since, most
// recently seen first, at most maxUnregistered.
func (r *Registry) ListUnregistered(context.Context) ([]devices.Unregistered, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.Fail != nil {
		return nil, r.Fail
	}
	var list []devices.Unregistered
	for id, u := range r.unregistered {
		if _, ok := r.devices[id]; !ok {
			list = append(list, *u)
		}
	}
	slices.SortFunc(list, func(a, b devices.Unregistered) int {
		if c := b.LastSeen.Compare(a.LastSeen); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	if len(list) > maxUnregistered {
		list = list[:maxUnregistered]
	}
	return list, nil
}

// Len returns the number of registered devices.
func (r *Registry) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.devices)
}
