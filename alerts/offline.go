package alerts

import (
	"context"
	"fmt"
	"time"

	"github.com/shouwang-hub/shouwang"
	"github.com/shouwang-hub/shouwang/devices"
)

// DeviceSilent applies supervision's verdict that life-safety device d has
// been silent since lastSeen, longer than its reporting time: it opens a
// major offline alert, or adds an occurrence to the open one (recurred if
// the device had come back meanwhile). It returns nil, nil for a device
// that is not supervised.
func (s *Service) DeviceSilent(ctx context.Context, tx Tx, d *devices.Device, lastSeen, now time.Time) (*Alert, error) {
	if d == nil {
		return nil, shouwang.Errorf(shouwang.EINVALID, "device silent: missing device")
	}
	h := s.newHandling(ctx, tx, d, now)
	if !h.rules.Supervised {
		return nil, nil
	}
	data := map[string]string{"reporting": seconds(h.rules.Supervision.Reporting.D())}
	if !lastSeen.IsZero() {
		data["last_seen"] = fmtT(lastSeen)
		data["silent_for"] = seconds(now.Sub(lastSeen))
	}
	a, err := h.occur(KindOffline, SeverityMajor, nil, System, data)
	if err != nil {
		return nil, fmt.Errorf("device %s silent: %w", d.ID, err)
	}
	if _, err := h.flush(); err != nil {
		return nil, fmt.Errorf("device %s silent: %w", d.ID, err)
	}
	return a, nil
}

// DeviceReturned marks d's open offline alert cleared, and d heard from
// again in every open outage it is a member of (an outage whose every
// member is back is cleared): the device is heard from again. It returns
// the alerts it changed, none when there was nothing to mark.
func (s *Service) DeviceReturned(ctx context.Context, tx Tx, d *devices.Device, now time.Time) ([]*Alert, error) {
	if d == nil {
		return nil, shouwang.Errorf(shouwang.EINVALID, "device returned: missing device")
	}
	h := s.newHandling(ctx, tx, d, now)
	a, err := h.openFamily(string(KindOffline))
	if err != nil {
		return nil, fmt.Errorf("device %s returned: %w", d.ID, err)
	}
	if a != nil && !a.Cleared {
		if err := h.clear(a, deviceActor(d.ID), map[string]string{"via": "supervision"}); err != nil {
			return nil, fmt.Errorf("device %s returned: %w", d.ID, err)
		}
	}
	if err := h.memberReturned(d); err != nil {
		return nil, fmt.Errorf("device %s returned: %w", d.ID, err)
	}
	changed, err := h.flush()
	if err != nil {
		return nil, fmt.Errorf("device %s returned: %w", d.ID, err)
	}
	return changed, nil
}
