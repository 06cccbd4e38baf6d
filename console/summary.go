package console

import (
	"cmp"
	"context"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/shouwang-hub/shouwang/devices"
)

// maxSilentShown caps the silent devices one summary lists.
const maxSilentShown = 200

// DevicesSummary is the device health overview: counts, and the
// life-safety devices that have gone silent. The live feed's snapshot
// carries the same object.
type DevicesSummary struct {
	Total   int                        `json:"total"`
	Online  int                        `json:"online"`
	Offline int                        `json:"offline"`
	ByKind  map[devices.Kind]KindCount `json:"by_kind"`
	// Silent lists at most 200 silent life-safety devices, longest silent
	// first; SilentTotal counts them all.
	Silent      []SilentDevice `json:"silent"`
	SilentTotal int            `json:"silent_total"`
}

// KindCount counts the devices of one kind.
type KindCount struct {
	Total   int `json:"total"`
	Online  int `json:"online"`
	Offline int `json:"offline"`
}

// SilentDevice is a life-safety device that stopped reporting: one with an
// open offline alert, or one the registry holds offline.
type SilentDevice struct {
	ID       string           `json:"id"`
	Kind     devices.Kind     `json:"kind"`
	LastSeen time.Time        `json:"last_seen,omitzero"` // zero: never heard from
	Location devices.Location `json:"location"`
	// AlertID is the open offline alert about it, if any.
	AlertID int64 `json:"alert_id,omitempty"`
}

func (s *Server) getDevicesSummary(w http.ResponseWriter, r *http.Request) {
	sum, err := s.devicesSummary(r.Context())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, sum)
}

// devicesSummary counts devices by kind and health, with a few cheap
// queries (a total each, no rows), and lists the silent ones.
func (s *Server) devicesSummary(ctx context.Context) (*DevicesSummary, error) {
	count := func(kind devices.Kind, online *bool) (int, error) {
		_, n, err := s.cfg.Registry.ListDevices(ctx, devices.Filter{Kind: kind, Online: online, Limit: 1})
		if err != nil {
			return 0, fmt.Errorf("count devices: %w", err)
		}
		return n, nil
	}
	sum := &DevicesSummary{ByKind: make(map[devices.Kind]KindCount)}
	var err error
	if sum.Total, err = count("", nil); err != nil {
		return nil, err
	}
	if sum.Online, err = count("", new(true)); err != nil {
		return nil, err
	}
	sum.Offline = sum.Total - sum.Online
	if sum.Total > 0 {
		for _, k := range devices.Kinds {
			var kc KindCount
			if kc.Total, err = count(k, nil); err != nil {
				return nil, err
			}
			if kc.Total == 0 {
				continue
			}
			if kc.Online, err = count(k, new(true)); err != nil {
				return nil, err
			}
			kc.Offline = kc.Total - kc.Online
			sum.ByKind[k] = kc
		}
	}
	silent, err := s.silent(ctx)
	if err != nil {
		return nil, err
	}
	slices.SortStableFunc(silent, func(a, b SilentDevice) int {
		return cmp.Or(a.LastSeen.Compare(b.LastSeen), cmp.Compare(a.ID, b.ID))
	})
	sum.SilentTotal = len(silent)
	sum.Silent = silent[:min(len(silent), maxSilentShown)]
	return sum, nil
}

// silent returns the silent life-safety devices from Config.Silent or,
// without it, the registry's offline life-safety devices that were heard
// from at least once (a device never heard from is not commissioned yet),
// up to maxSilentShown of each kind.
func (s *Server) silent(ctx context.Context) ([]SilentDevice, error) {
	if s.cfg.Silent != nil {
		ds, err := s.cfg.Silent(ctx)
		if err != nil {
			return nil, fmt.Errorf("silent devices: %w", err)
		}
		return append([]SilentDevice{}, ds...), nil // sorted here; the caller's is left alone
	}
	out := []SilentDevice{}
	for _, k := range devices.Kinds {
		if spec := devices.Spec(k); spec == nil || !spec.LifeSafety {
			continue
		}
		ds, _, err := s.cfg.Registry.ListDevices(ctx, devices.Filter{Kind: k, Online: new(false), Limit: maxSilentShown})
		if err != nil {
			return nil, fmt.Errorf("list offline devices: %w", err)
		}
		for _, d := range ds {
			if !d.Health.LastSeen.IsZero() {
				out = append(out, SilentDevice{ID: d.ID, Kind: d.Kind, LastSeen: d.Health.LastSeen, Location: d.Location})
			}
		}
	}
	return out, nil
}
