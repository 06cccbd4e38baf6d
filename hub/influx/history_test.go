package influx

import (
	"strings"
	"testing"
	"time"

	"github.com/shouwang-hub/shouwang"
	"github.com/shouwang-hub/shouwang/devices"
)

func TestHistoryQuery(t *testing.T) {
	from := time.Date(2025, 3, 1, 8, 0, 0, 0, time.FixedZone("CST", 8*3600))
	to := from.Add(time.Hour)
	q, err := historyQuery(`db/"rp"`, devices.KindGas, "gas-01", "lel", from, to, 90*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	want := `from(bucket: "db/\"rp\"")
  |> range(start: 2025-03-01T00:00:00Z, stop: 2025-03-01T01:00:00Z)
  |> filter(fn: (r) => r._measurement == "gas" and r.device == "gas-01" and r._field == "lel" and r._time < 2025-03-01T01:00:00Z)
  |> group()
  |> aggregateWindow(every: 90s, fn: mean, timeSrc: "_start", createEmpty: false)
  |> sort(columns: ["_time"])`
	if q != want {
		t.Fatalf("query:\n%s\nwant:\n%s", q, want)
	}
	raw, err := historyQuery("db/rp", devices.KindAir, "a.1", "battery", from, to, 0)
	if err != nil || strings.Contains(raw, "aggregateWindow") {
		t.Fatalf("raw query %v:\n%s", err, raw)
	}

	bad := []struct {
		name         string
		kind         devices.Kind
		id, field    string
		from, to     time.Time
		every        time.Duration
		wantInErrMsg string
	}{
		{"unknown kind", "rocket", "gas-01", "lel", from, to, 0, "kind"},
		{"injected id", devices.KindGas, `x" or r._field != "`, "lel", from, to, 0, "device id"},
		{"empty id", devices.KindGas, "", "lel", from, to, 0, "device id"},
		{"field of another kind", devices.KindGas, "gas-01", "pm25", from, to, 0, "field"},
		{"injected field", devices.KindGas, "gas-01", `lel") |> drop(`, from, to, 0, "field"},
		{"seq is not telemetry", devices.KindGas, "gas-01", "seq", from, to, 0, "field"},
		{"empty range", devices.KindGas, "gas-01", "lel", to, to, 0, "range"},
		{"reversed range", devices.KindGas, "gas-01", "lel", to, from, 0, "range"},
		{"negative every", devices.KindGas, "gas-01", "lel", from, to, -time.Second, "every"},
		{"sub-ms every", devices.KindGas, "gas-01", "lel", from, to, time.Microsecond, "every"},
	}
	for _, tt := range bad {
		_, err := historyQuery("db/rp", tt.kind, tt.id, tt.field, tt.from, tt.to, tt.every)
		if shouwang.ErrorCode(err) != shouwang.EINVALID || !strings.Contains(err.Error(), tt.wantInErrMsg) {
			t.Errorf("%s: err %v, want EINVALID naming %q", tt.name, err, tt.wantInErrMsg)
		}
	}
}

func TestFluxLiterals(t *testing.T) {
	if got := fluxString(`a"b\c${d}`); got != `"a\"b\\c\${d}"` {
		t.Errorf("fluxString = %s", got)
	}
	for d, want := range map[time.Duration]string{
		time.Hour: "3600s", 1500 * time.Millisecond: "1500ms", 3 * time.Microsecond: "3us", 7: "7ns",
	} {
		if got := fluxDuration(d); got != want {
			t.Errorf("fluxDuration(%v) = %s, want %s", d, got, want)
		}
	}
	if got := fluxTime(time.Date(2025, 1, 2, 3, 4, 5, 6, time.UTC)); got != "2025-01-02T03:04:05.000000006Z" {
		t.Errorf("fluxTime = %s", got)
	}
}
