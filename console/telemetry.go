package console

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/shouwang-hub/shouwang"
	"github.com/shouwang-hub/shouwang/devices"
)

// Bounds on a telemetry query.
const (
	defaultTelemetryRange = 24 * time.Hour
	maxTelemetryRange     = 31 * 24 * time.Hour
	minTelemetryEvery     = time.Second
)

type telemetryResponse struct {
	Device string            `json:"device"`
	Field  string            `json:"field"`
	Unit   string            `json:"unit"`
	From   time.Time         `json:"from"`
	To     time.Time         `json:"to"`
	Every  string            `json:"every,omitempty"`
	Points []devices.Reading `json:"points"`
}

// telemetry returns a device's history of one field: raw readings, or
// aggregated into buckets of ?every=.
func (s *Server) telemetry(w http.ResponseWriter, r *http.Request) {
	d, err := s.findDevice(r, r.PathValue("id"))
	if err != nil {
		s.writeError(w, r, fmt.Errorf("find device: %w", err))
		return
	}
	q := r.URL.Query()
	spec := devices.Spec(d.Kind)
	if spec == nil {
		s.writeError(w, r, shouwang.Errorf(shouwang.EINVALID, "device %s has unknown kind %q", d.ID, d.Kind))
		return
	}
	field, ok := spec.Field(q.Get("field"))
	if !ok {
		names := make([]string, 0, len(spec.AllFields()))
		for _, f := range spec.AllFields() {
			names = append(names, f.Name)
		}
		s.writeError(w, r, shouwang.Errorf(shouwang.EINVALID, "field %q: a %s device reports %s", q.Get("field"), d.Kind, strings.Join(names, ", ")))
		return
	}
	from, to, err := timeRange(q, s.cfg.Now(), defaultTelemetryRange, maxTelemetryRange, "31 days")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var every time.Duration
	if v := q.Get("every"); v != "" {
		if every, err = time.ParseDuration(v); err != nil || every != 0 && every < minTelemetryEvery {
			s.writeError(w, r, shouwang.Errorf(shouwang.EINVALID, "every %q: must be a duration of at least 1s, such as 1m or 1h, or 0 for raw readings", v))
			return
		}
	}
	points, err := s.cfg.History(r.Context(), d.Kind, d.ID, field.Name, from, to, every)
	if err != nil {
		s.writeError(w, r, fmt.Errorf("telemetry history: %w", err))
		return
	}
	if points == nil {
		points = []devices.Reading{}
	}
	resp := telemetryResponse{Device: d.ID, Field: field.Name, Unit: field.Unit, From: from, To: to, Points: points}
	if every > 0 {
		resp.Every = every.String()
	}
	writeJSON(w, http.StatusOK, resp)
}

// timeRange reads the from and to parameters: to defaults to now, from to
// span before to; from must come before to, and the range be at most limit
// (limitText names it in the error).
func timeRange(q url.Values, now time.Time, span, limit time.Duration, limitText string) (from, to time.Time, err error) {
	if to, err = timeParam(q.Get("to"), "to", now); err != nil {
		return
	}
	if from, err = timeParam(q.Get("from"), "from", to.Add(-span)); err != nil {
		return
	}
	switch {
	case !from.Before(to):
		err = shouwang.Errorf(shouwang.EINVALID, "from: must be before to")
	case to.Sub(from) > limit:
		err = shouwang.Errorf(shouwang.EINVALID, "from, to: range longer than %s", limitText)
	}
	return from, to, err
}

func timeParam(v, name string, def time.Time) (time.Time, error) {
	if v == "" {
		return def, nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return time.Time{}, shouwang.Errorf(shouwang.EINVALID, "%s %q: must be an RFC 3339 time such as 2025-01-02T15:04:05+08:00", name, v)
	}
	return t, nil
}
