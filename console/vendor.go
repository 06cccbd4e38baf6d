package console

import (
	"context"
	"fmt"
	"net/http"

	"github.com/shouwang-hub/shouwang"
	"github.com/shouwang-hub/shouwang/devices"
	"github.com/shouwang-hub/shouwang/devices/vendors"
)

// VendorService is what the console asks the hub about off-the-shelf
// devices: what the bridges report, why a device was refused, and a
// self-test command.
type VendorService interface {
	// ListDiscovered lists what the bridges report (gateway "" for all),
	// with the registered device at each address.
	ListDiscovered(ctx context.Context, gateway string) ([]devices.Discovered, error)
	// ListRefusals returns a device's last refusals, newest first.
	ListRefusals(ctx context.Context, id string) ([]devices.Refusal, error)
	// SelfTest sends a vendor device the command that starts its self-test.
	SelfTest(ctx context.Context, id string) error
}

// listDiscovered answers GET /api/v1/devices/discovered[?gateway=ID&all=1]:
// the devices bridges report that nobody has bound yet (all=1: every one),
// each with the kind it would be registered as, so an installer binds one
// without typing its address.
func (s *Server) listDiscovered(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Vendor == nil {
		s.writeError(w, r, shouwang.Errorf(shouwang.EINVALID, "this hub takes no vendor devices"))
		return
	}
	ds, err := s.cfg.Vendor.ListDiscovered(r.Context(), r.URL.Query().Get("gateway"))
	if err != nil {
		s.writeError(w, r, fmt.Errorf("list discovered: %w", err))
		return
	}
	out := []devices.Discovered{}
	for _, d := range ds {
		if d.DeviceID == "" || r.URL.Query().Get("all") == "1" {
			out = append(out, d)
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"devices": out})
}

// selfTest answers POST /api/v1/devices/{id}/selftest.
func (s *Server) selfTest(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Vendor == nil {
		s.writeError(w, r, shouwang.Errorf(shouwang.EINVALID, "this hub takes no vendor devices"))
		return
	}
	id := r.PathValue("id")
	if err := s.cfg.Vendor.SelfTest(r.Context(), id); err != nil {
		s.writeError(w, r, err)
		return
	}
	s.log.Info("self-test sent", "id", id, "by", sessionFrom(r.Context()).user.Username)
	writeJSON(w, http.StatusAccepted, map[string]any{"sent": true})
}

// deviceRefusals returns a device's last refusals for its page, an empty list
// when there are none or the hub keeps none.
func (s *Server) deviceRefusals(r *http.Request, id string) []devices.Refusal {
	if s.cfg.Vendor == nil {
		return []devices.Refusal{}
	}
	rs, err := s.cfg.Vendor.ListRefusals(r.Context(), id)
	if err != nil {
		s.log.Warn("list refusals", "id", id, "err", err)
		return []devices.Refusal{}
	}
	return rs
}

// fillVendor completes a vendor device an installer registers: its kind
// from its model when not given, and a Zigbee device's model from what its
// bridge reported.
func (s *Server) fillVendor(r *http.Request, d *devices.Device) {
	if d.Source != devices.SourceZigbee2MQTT && d.Source != devices.SourceShelly || d.Kind == devices.KindGateway {
		return
	}
	if d.Source == devices.SourceZigbee2MQTT && d.Model == "" && s.cfg.Vendor != nil {
		if ds, err := s.cfg.Vendor.ListDiscovered(r.Context(), d.Gateway); err == nil {
			for _, x := range ds {
				if x.IEEE == d.Address {
					d.Model, d.Vendor = x.Model, x.Vendor
				}
			}
		}
	}
	if d.Kind == "" {
		d.Kind = vendors.KindOf(d.Source, d.Model)
	}
}
