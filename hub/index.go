package hub

import (
	"context"
	"fmt"
	"sync"

	"github.com/shouwang-hub/shouwang/devices"
)

// DeviceIndex is the hub's in-memory view of the registry, so routing a
// message never waits on the database. The console tells the hub when a
// device changes and the index reloads that one device.
type DeviceIndex struct {
	mu      sync.RWMutex
	devices map[string]*devices.Device
}

// IndexSource is what the index loads from.
type IndexSource interface {
	LoadDeviceIndex(ctx context.Context) ([]*devices.Device, error)
	FindDevice(ctx context.Context, id string) (*devices.Device, error)
}

// LoadIndex reads every registered device.
func LoadIndex(ctx context.Context, src IndexSource) (*DeviceIndex, error) {
	ds, err := src.LoadDeviceIndex(ctx)
	if err != nil {
		return nil, fmt.Errorf("load device index: %w", err)
	}
	idx := &DeviceIndex{devices: make(map[string]*devices.Device, len(ds))}
	for _, d := range ds {
		idx.devices[d.ID] = d
	}
	return idx, nil
}

// Get returns the device with the given ID, or nil. The returned device is
// shared: callers must not modify it.
func (x *DeviceIndex) Get(id string) *devices.Device {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.devices[id]
}

// All returns every registered device, shared as Get's are.
func (x *DeviceIndex) All() []*devices.Device {
	x.mu.RLock()
	defer x.mu.RUnlock()
	out := make([]*devices.Device, 0, len(x.devices))
	for _, d := range x.devices {
		out = append(out, d)
	}
	return out
}

// Len returns the number of registered devices.
func (x *DeviceIndex) Len() int {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return len(x.devices)
}

// Refresh reloads one device from src, or drops it if it is gone.
func (x *DeviceIndex) Refresh(ctx context.Context, src IndexSource, id string) error {
	d, err := src.FindDevice(ctx, id)
	if devices.ErrorCode(err) == devices.ENOTFOUND {
		x.mu.Lock()
		delete(x.devices, id)
		x.mu.Unlock()
		return nil
	} else if err != nil {
		return fmt.Errorf("refresh device %s: %w", id, err)
	}
	x.mu.Lock()
	x.devices[id] = d
	x.mu.Unlock()
	return nil
}

// Reload replaces the whole index, after a bulk import.
func (x *DeviceIndex) Reload(ctx context.Context, src IndexSource) error {
	fresh, err := LoadIndex(ctx, src)
	if err != nil {
		return err
	}
	x.mu.Lock()
	x.devices = fresh.devices
	x.mu.Unlock()
	return nil
}
