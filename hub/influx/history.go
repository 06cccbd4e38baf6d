package influx

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/shouwang-hub/shouwang"
	"github.com/shouwang-hub/shouwang/devices"
)

// History returns one telemetry field of one device between from
// (inclusive) and to (exclusive), oldest first. With every > 0 it returns the
// mean of each window of that length that has data, placed at the window's
// start; otherwise the raw readings.
//
// Flux parameters would keep the inputs out of the query text, but
// InfluxDB 1.8 does not support them, so the inputs are validated instead:
// the kind must be known, the device ID valid (letters, digits, '.', '_',
// '-') and the field one of the kind's telemetry fields; the bucket is
// quoted as a Flux string and the times are Flux time literals.
func (w *Writer) History(ctx context.Context, kind devices.Kind, deviceID, field string, from, to time.Time, every time.Duration) ([]devices.Reading, error) {
	q, err := historyQuery(w.cfg.Bucket, kind, deviceID, field, from, to, every)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, w.cfg.Timeout)
	defer cancel()
	res, err := w.client.QueryAPI(w.cfg.Org).Query(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("query influx history: %w", err)
	}
	defer res.Close()
	var out []devices.Reading
	for res.Next() {
		r := res.Record()
		var v float64
		switch x := r.Value().(type) {
		case float64:
			v = x
		case int64:
			v = float64(x)
		case uint64:
			v = float64(x)
		default:
			continue // not a number: nothing a chart can show
		}
		out = append(out, devices.Reading{Time: r.Time(), Value: v})
	}
	if err := res.Err(); err != nil {
		return nil, fmt.Errorf("read influx history: %w", err)
	}
	return out, nil
}

// historyQuery validates the inputs of History and builds its Flux query.
// The series are merged (group) because a device that was moved has one
// series per location, then sorted by time. The _time < stop filter repeats
// what range promises, because InfluxDB 1.8's storage includes a point at
// exactly stop (influxdata/influxdb#19966).
func historyQuery(bucket string, kind devices.Kind, deviceID, field string, from, to time.Time, every time.Duration) (string, error) {
	spec := devices.Spec(kind)
	if spec == nil {
		return "", shouwang.Errorf(shouwang.EINVALID, "kind %q: unknown", kind)
	}
	if !devices.ValidID(deviceID) {
		return "", shouwang.Errorf(shouwang.EINVALID, "device id %q: invalid", deviceID)
	}
	if _, ok := spec.Field(field); !ok {
		return "", shouwang.Errorf(shouwang.EINVALID, "field %q: not a telemetry field of a %s", field, kind)
	}
	if !from.Before(to) {
		return "", shouwang.Errorf(shouwang.EINVALID, "range: from %s is not before to %s", from.Format(time.RFC3339), to.Format(time.RFC3339))
	}
	if every < 0 || (every > 0 && every < time.Millisecond) {
		return "", shouwang.Errorf(shouwang.EINVALID, "every %v: must be 0 (raw) or at least 1ms", every)
	}
	var q strings.Builder
	fmt.Fprintf(&q, "from(bucket: %s)\n", fluxString(bucket))
	fmt.Fprintf(&q, "  |> range(start: %s, stop: %s)\n", fluxTime(from), fluxTime(to))
	fmt.Fprintf(&q, "  |> filter(fn: (r) => r._measurement == %s and r.device == %s and r._field == %s and r._time < %s)\n",
		fluxString(string(kind)), fluxString(deviceID), fluxString(field), fluxTime(to))
	q.WriteString("  |> group()\n")
	if every > 0 {
		fmt.Fprintf(&q, "  |> aggregateWindow(every: %s, fn: mean, timeSrc: \"_start\", createEmpty: false)\n", fluxDuration(every))
	}
	q.WriteString(`  |> sort(columns: ["_time"])`)
	return q.String(), nil
}

// fluxString quotes s as a Flux string literal: backslash, double quote and
// the $ that would start an interpolation are escaped.
func fluxString(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, `$`, `\$`)
	return `"` + r.Replace(s) + `"`
}

func fluxTime(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// fluxDuration writes d in the largest whole unit of s, ms, us or ns.
func fluxDuration(d time.Duration) string {
	for _, u := range []struct {
		d    time.Duration
		name string
	}{{time.Second, "s"}, {time.Millisecond, "ms"}, {time.Microsecond, "us"}} {
		if d%u.d == 0 {
			return strconv.FormatInt(int64(d/u.d), 10) + u.name
		}
	}
	return strconv.FormatInt(int64(d), 10) + "ns"
}
