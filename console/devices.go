package console

import (
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/shouwang-hub/shouwang"
	"github.com/shouwang-hub/shouwang/devices"
	"github.com/shouwang-hub/shouwang/devices/vendors"
)

// maxPageSize caps the devices one listing returns.
const maxPageSize = 1000

// createdDevice is the answer to creating a device: the only time its
// password is shown.
type createdDevice struct {
	Device       *devices.Device `json:"device"`
	Password     string          `json:"password,omitempty"`
	MQTTUsername string          `json:"mqtt_username,omitempty"`
	// Warnings: where the device was placed when its registration left
	// its household in doubt (devices.PlacementWarnings); it is registered.
	Warnings []devices.Warning `json:"warnings,omitempty"`
}

func (s *Server) createDevice(w http.ResponseWriter, r *http.Request) {
	var d devices.Device
	if err := decodeJSON(w, r, &d); err != nil {
		s.writeError(w, r, err)
		return
	}
	clearHubFields(&d)
	s.fillVendor(r, &d)
	if err := d.Validate(); err != nil {
		s.writeError(w, r, err)
		return
	}
	pw := devices.NewPassword()
	if err := s.cfg.Registry.CreateDevice(r.Context(), &d, devices.HashPassword(pw)); err != nil {
		s.writeError(w, r, fmt.Errorf("create device: %w", err))
		return
	}
	s.cfg.OnDeviceChange(d.ID)
	s.log.Info("device created", "id", d.ID, "kind", d.Kind, "by", sessionFrom(r.Context()).user.Username)
	warnings := s.placementWarnings(r.Context(), []*devices.Device{&d}, nil)
	if d.Source == devices.SourceZigbee2MQTT && d.Kind != devices.KindGateway {
		// It speaks through its bridge: its account exists only so the
		// registry stays uniform, and the broker refuses it.
		writeJSON(w, http.StatusCreated, createdDevice{Device: s.reread(r, &d), Warnings: warnings})
		return
	}
	writeJSON(w, http.StatusCreated, createdDevice{Device: s.reread(r, &d), Password: pw, MQTTUsername: d.ID, Warnings: warnings})
}

// reread returns the stored copy of a device just written, with the fields
// the store fills in, or d itself if that fails: the write succeeded, and
// its answer (a password, perhaps) must not be lost.
func (s *Server) reread(r *http.Request, d *devices.Device) *devices.Device {
	stored, err := s.cfg.Registry.FindDevice(r.Context(), d.ID)
	if err != nil {
		s.log.Warn("reread device after write", "id", d.ID, "err", err)
		return d
	}
	return stored
}

// clearHubFields drops what the hub, not an installer, owns.
func clearHubFields(d *devices.Device) {
	d.Health = devices.Health{}
	d.CreatedAt, d.UpdatedAt = time.Time{}, time.Time{}
}

type deviceList struct {
	Devices []*devices.Device `json:"devices"`
	Total   int               `json:"total"`
}

func (s *Server) listDevices(w http.ResponseWriter, r *http.Request) {
	f, err := parseFilter(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	ds, total, err := s.cfg.Registry.ListDevices(r.Context(), f)
	if err != nil {
		s.writeError(w, r, fmt.Errorf("list devices: %w", err))
		return
	}
	if ds == nil {
		ds = []*devices.Device{}
	}
	writeJSON(w, http.StatusOK, deviceList{Devices: ds, Total: total})
}

// parseFilter reads a device listing's query parameters.
func parseFilter(r *http.Request) (devices.Filter, error) {
	q := r.URL.Query()
	f := devices.Filter{
		Community: q.Get("community"),
		Grid:      q.Get("grid"),
		Building:  q.Get("building"),
		Kind:      devices.Kind(q.Get("kind")),
		Query:     q.Get("q"),
	}
	if f.Kind != "" && !f.Kind.Valid() {
		return f, shouwang.Errorf(shouwang.EINVALID, "kind %q: not a device kind", f.Kind)
	}
	if v := q.Get("online"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return f, shouwang.Errorf(shouwang.EINVALID, "online %q: must be true or false", v)
		}
		f.Online = &b
	}
	var err error
	if f.Offset, err = intParam(q.Get("offset"), "offset", 0, 1<<31-1); err != nil {
		return f, err
	}
	if f.Limit, err = intParam(q.Get("limit"), "limit", 0, maxPageSize); err != nil {
		return f, err
	}
	return f, nil
}

func intParam(v, name string, lo, hi int) (int, error) {
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		return 0, shouwang.Errorf(shouwang.EINVALID, "%s %q: must be a whole number from %d to %d", name, v, lo, hi)
	}
	return n, nil
}

func (s *Server) getDevice(w http.ResponseWriter, r *http.Request) {
	d, err := s.findDevice(r, r.PathValue("id"))
	if err != nil {
		s.writeError(w, r, fmt.Errorf("find device: %w", err))
		return
	}
	// self_test: whether the device's model takes a self-test command, so
	// the page offers one only where the click can work.
	writeJSON(w, http.StatusOK, map[string]any{"device": d, "refusals": s.deviceRefusals(r, d.ID),
		"self_test": vendors.HasSelfTest(d)})
}

func (s *Server) updateDevice(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	var d devices.Device
	if err := decodeJSON(w, r, &d); err != nil {
		s.writeError(w, r, err)
		return
	}
	if d.ID != "" && d.ID != id {
		s.writeError(w, r, shouwang.Errorf(shouwang.EINVALID, "id %q in the body differs from %q in the path; IDs cannot be changed", d.ID, id))
		return
	}
	d.ID = id
	clearHubFields(&d)
	if err := d.Validate(); err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := s.cfg.Registry.UpdateDevice(r.Context(), &d); err != nil {
		s.writeError(w, r, fmt.Errorf("update device: %w", err))
		return
	}
	s.cfg.OnDeviceChange(id)
	s.log.Info("device updated", "id", id, "by", sessionFrom(r.Context()).user.Username)
	answer := map[string]any{"device": s.reread(r, &d)}
	if ws := s.placementWarnings(r.Context(), []*devices.Device{&d}, nil); len(ws) > 0 {
		answer["warnings"] = ws
	}
	writeJSON(w, http.StatusOK, answer)
}

func (s *Server) deleteDevice(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if err := s.cfg.Registry.DeleteDevice(r.Context(), id); err != nil {
		s.writeError(w, r, fmt.Errorf("delete device: %w", err))
		return
	}
	s.cfg.OnDeviceChange(id)
	s.log.Info("device deleted", "id", id, "by", sessionFrom(r.Context()).user.Username)
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) rotatePassword(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	pw := devices.NewPassword()
	if err := s.cfg.Registry.SetPasswordHash(r.Context(), id, devices.HashPassword(pw)); err != nil {
		s.writeError(w, r, fmt.Errorf("set password: %w", err))
		return
	}
	s.cfg.OnDeviceChange(id)
	s.log.Info("device password rotated", "id", id, "by", sessionFrom(r.Context()).user.Username)
	writeJSON(w, http.StatusOK, map[string]any{"password": pw, "mqtt_username": id})
}

func (s *Server) listUnregistered(w http.ResponseWriter, r *http.Request) {
	us, err := s.cfg.Registry.ListUnregistered(r.Context())
	if err != nil {
		s.writeError(w, r, fmt.Errorf("list unregistered: %w", err))
		return
	}
	if us == nil {
		us = []devices.Unregistered{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"devices": us})
}
