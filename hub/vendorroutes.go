package hub

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/shouwang-hub/shouwang"
	"github.com/shouwang-hub/shouwang/devices"
	"github.com/shouwang-hub/shouwang/devices/shelly"
	"github.com/shouwang-hub/shouwang/devices/vendors"
	"github.com/shouwang-hub/shouwang/devices/zigbee2mqtt"
)

// VendorSource is what the vendor routes load from: the registered vendor
// devices and what bridges last reported.
type VendorSource interface {
	VendorDevices(ctx context.Context) ([]*devices.Device, error)
	ListDiscovered(ctx context.Context, gateway string) ([]devices.Discovered, error)
}

// VendorRoutes addresses vendor messages: which registered root (a bridge's
// base topic, a Shelly's prefix) a topic lies under, and behind a bridge,
// which registered device a friendly name is. Friendly names come from the
// bridge's retained bridge/devices (and from the store, where the last one
// was saved, so a queued message can be routed before the bridge's list is
// delivered again); devices are registered by IEEE address.
type VendorRoutes struct {
	mu      sync.RWMutex
	roots   map[string]vendorRoot      // root topic → owner
	bridges map[string]*bridgeRoutes   // gateway ID → its devices
	byID    map[string]*devices.Device // vendor device ID → its record
}

type vendorRoot struct {
	source devices.Source
	id     string // the gateway, or the Shelly device
	root   string
}

type bridgeRoutes struct {
	byIEEE  map[string]string // IEEE address → device ID
	names   map[string]string // friendly name → IEEE address
	learned bool              // names are from a list the bridge sent while the hub ran
}

// NewVendorRoutes returns empty routes; Load fills them.
func NewVendorRoutes() *VendorRoutes {
	return &VendorRoutes{roots: map[string]vendorRoot{}, bridges: map[string]*bridgeRoutes{}, byID: map[string]*devices.Device{}}
}

// Load reads every vendor device and the bridges' last device lists.
func (r *VendorRoutes) Load(ctx context.Context, src VendorSource) error {
	ds, err := src.VendorDevices(ctx)
	if err != nil {
		return fmt.Errorf("load vendor routes: %w", err)
	}
	found, err := src.ListDiscovered(ctx, "")
	if err != nil {
		return fmt.Errorf("load vendor routes: %w", err)
	}
	roots := map[string]vendorRoot{}
	bridges := map[string]*bridgeRoutes{}
	byID := make(map[string]*devices.Device, len(ds))
	bridge := func(id string) *bridgeRoutes {
		b := bridges[id]
		if b == nil {
			b = &bridgeRoutes{byIEEE: map[string]string{}, names: map[string]string{}}
			bridges[id] = b
		}
		return b
	}
	for _, d := range ds {
		byID[d.ID] = d
		switch {
		case d.Kind == devices.KindGateway || d.Source == devices.SourceShelly:
			roots[d.Address] = vendorRoot{source: d.Source, id: d.ID, root: d.Address}
			if d.Kind == devices.KindGateway {
				bridge(d.ID)
			}
		case d.Source == devices.SourceZigbee2MQTT:
			bridge(d.Gateway).byIEEE[d.Address] = d.ID
		}
	}
	for _, f := range found {
		bridge(f.Gateway).names[f.FriendlyName] = f.IEEE
	}
	r.mu.Lock()
	// A list the bridge sent while the hub runs is learned before it is
	// saved, so the store may not have it yet: the learned names are never
	// older than the store's and are kept (a registration reloading the
	// routes just as the list arrived lost it until the bridge sent it again).
	for id, b := range bridges {
		if old := r.bridges[id]; old != nil && old.learned {
			b.names, b.learned = old.names, true
		}
	}
	r.roots, r.bridges, r.byID = roots, bridges, byID
	r.mu.Unlock()
	return nil
}

// find returns the registered root topic lies under.
func (r *VendorRoutes) find(topic string) (vendorRoot, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	for i := strings.IndexByte(topic, '/'); i > 0; {
		if vr, ok := r.roots[topic[:i]]; ok {
			return vr, true
		}
		j := strings.IndexByte(topic[i+1:], '/')
		if j < 0 {
			break
		}
		i += j + 1
	}
	return vendorRoot{}, false
}

// OrderKey is the hub's mqttc.Config.OrderKey: for a vendor message, the
// registered root it lies under (a bridge's base topic, a Shelly's
// prefix), so a bridge's or a Shelly's messages are handled one at a time
// in the order they came; "" for the rest. Vendor messages carry states,
// not numbered events: Ingest applies a device's states in arrival order
// and takes one that reaches it after a later one as older, its
// conditions dropped, so a short alarm (or a self-test) overtaken on the
// concurrent handlers by the clear that followed it was lost.
func (r *VendorRoutes) OrderKey(topic string) string {
	if strings.HasPrefix(topic, devices.TopicPrefix) {
		return ""
	}
	vr, _ := r.find(topic)
	return vr.root
}

// Roots lists the registered roots, for subscriptions and the broker's
// policy.
func (r *VendorRoutes) Roots() []devices.Root {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]devices.Root, 0, len(r.roots))
	for _, vr := range r.roots {
		out = append(out, devices.Root{Source: vr.source, Root: vr.root})
	}
	slices.SortFunc(out, func(a, b devices.Root) int { return strings.Compare(a.Root, b.Root) })
	return out
}

// Device returns the registered vendor device with an ID.
func (r *VendorRoutes) Device(id string) (*devices.Device, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	d, ok := r.byID[id]
	return d, ok
}

// behind returns the device a friendly name on a bridge is, and its
// model; ieee is "" when the bridge never listed the name.
func (r *VendorRoutes) behind(gateway, name string) (d *devices.Device, ieee string) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	b := r.bridges[gateway]
	if b == nil {
		return nil, ""
	}
	ieee = b.names[name]
	if id, ok := b.byIEEE[ieee]; ok && ieee != "" {
		return r.byID[id], ieee
	}
	return nil, ieee
}

// learn takes a bridge's device list.
func (r *VendorRoutes) learn(gateway string, list []zigbee2mqtt.BridgeDevice) {
	names := make(map[string]string, len(list))
	for _, bd := range list {
		names[bd.FriendlyName] = bd.IEEE
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if b := r.bridges[gateway]; b != nil {
		b.names, b.learned = names, true
	}
}

// SelfTestCommand returns where and what to publish to start device id's
// self-test, or an error a person can act on.
func (r *VendorRoutes) SelfTestCommand(id string) (topic string, payload []byte, err error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	d, ok := r.byID[id]
	if !ok {
		return "", nil, shouwang.Errorf(shouwang.EINVALID, "device %s: not a vendor device; native devices are tested with a test press", id)
	}
	switch d.Source {
	case devices.SourceZigbee2MQTT:
		if !vendors.HasSelfTest(d) {
			return "", nil, shouwang.Errorf(shouwang.EINVALID, "device %s: model %q has no self-test command", id, d.Model)
		}
		m, _ := zigbee2mqtt.Lookup(d.Model)
		gw := r.byID[d.Gateway]
		b := r.bridges[d.Gateway]
		if gw == nil || b == nil {
			return "", nil, shouwang.Errorf(shouwang.EINVALID, "device %s: bridge %s is not registered", id, d.Gateway)
		}
		for name, ieee := range b.names {
			if ieee == d.Address {
				return zigbee2mqtt.SetTopic(gw.Address, name), []byte(m.SelfTest), nil
			}
		}
		return "", nil, shouwang.Errorf(shouwang.EINVALID, "device %s: bridge %s has not listed %s yet", id, d.Gateway, d.Address)
	case devices.SourceShelly:
		if !vendors.HasSelfTest(d) {
			return "", nil, shouwang.Errorf(shouwang.EINVALID, "device %s: only the Shelly Gas takes a self-test command", id)
		}
		return shelly.SelfTestTopic(d.Address), []byte("start"), nil
	}
	return "", nil, shouwang.Errorf(shouwang.EINVALID, "device %s: no self-test command", id)
}
