package influx

import (
	"bytes"
	"maps"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/influxdata/influxdb-client-go/v2/api/write"
	lp "github.com/influxdata/line-protocol"

	"github.com/shouwang-hub/shouwang/devices"
)

var (
	tsDevice = time.Date(2025, 3, 1, 8, 0, 0, 123_000_000, time.UTC)
	tsRecv   = time.Date(2025, 3, 1, 8, 0, 1, 456_789_012, time.UTC)
)

func gasMessage(fields map[string]float64) *devices.Message {
	return &devices.Message{
		DeviceID: "gas-0001", Kind: devices.KindGas, Channel: devices.ChannelTelemetry,
		Seq: 42, TS: tsDevice, Received: tsRecv,
		Telemetry: &devices.Telemetry{Fields: fields},
	}
}

func gasDevice(loc devices.Location) *devices.Device {
	return &devices.Device{ID: "gas-0001", Kind: devices.KindGas, Location: loc}
}

// locOf is d's location, nil for no device.
func locOf(d *devices.Device) *devices.Location {
	if d == nil {
		return nil
	}
	return &d.Location
}

func TestLine(t *testing.T) {
	devNS := "1740816000123000000" // tsDevice in ns
	tests := []struct {
		name string
		m    *devices.Message
		d    *devices.Device
		want string
	}{{
		name: "plain",
		m:    gasMessage(map[string]float64{"lel": 3.5, "temperature": 21}),
		d:    gasDevice(devices.Location{Community: "Sunshine", Grid: "G1", Building: "3"}),
		want: `gas,building=3,community=Sunshine,device=gas-0001,grid=G1,kind=gas lel=3.5,temperature=21,seq=42i ` + devNS,
	}, {
		name: "chinese with spaces",
		m:    gasMessage(map[string]float64{"lel": 0.25}),
		d:    gasDevice(devices.Location{Community: "阳光 社区", Grid: "第一网格", Building: "3号楼"}),
		want: `gas,building=3号楼,community=阳光\ 社区,device=gas-0001,grid=第一网格,kind=gas lel=0.25,seq=42i ` + devNS,
	}, {
		name: "commas and equals",
		m:    gasMessage(map[string]float64{"lel": 1}),
		d:    gasDevice(devices.Location{Community: "a,b=c", Grid: "x=1,y=2", Building: " "}),
		want: `gas,building=\ ,community=a\,b\=c,device=gas-0001,grid=x\=1\,y\=2,kind=gas lel=1,seq=42i ` + devNS,
	}, {
		name: "empty tags omitted",
		m:    gasMessage(map[string]float64{"lel": 1}),
		d:    gasDevice(devices.Location{Community: "阳光社区"}),
		want: `gas,community=阳光社区,device=gas-0001,kind=gas lel=1,seq=42i ` + devNS,
	}, {
		name: "nil device",
		m:    gasMessage(map[string]float64{"lel": 1}),
		want: `gas,device=gas-0001,kind=gas lel=1,seq=42i ` + devNS,
	}, {
		name: "quotes, tabs and newlines",
		m:    gasMessage(map[string]float64{"lel": 1}),
		d:    gasDevice(devices.Location{Community: `"阳光"`, Grid: "a\tb", Building: "1\n2"}),
		want: `gas,building=1\n2,community="阳光",device=gas-0001,grid=a\tb,kind=gas lel=1,seq=42i ` + devNS,
	}, {
		name: "backslashes become look-alikes",
		m:    gasMessage(map[string]float64{"lel": 1}),
		d:    gasDevice(devices.Location{Community: `a\,b`, Grid: `end\`}),
		want: `gas,community=a＼\,b,device=gas-0001,grid=end＼,kind=gas lel=1,seq=42i ` + devNS,
	}, {
		name: "no readings",
		m:    gasMessage(map[string]float64{}),
		d:    gasDevice(devices.Location{Community: "c"}),
		want: `gas,community=c,device=gas-0001,kind=gas seq=42i ` + devNS,
	}, {
		name: "large and small floats stay plain decimals",
		m:    &devices.Message{DeviceID: "air-1", Kind: devices.KindAir, Seq: 1, TS: tsDevice, Received: tsRecv, Telemetry: &devices.Telemetry{Fields: map[string]float64{"co2": 40000, "tvoc": 0.000001, "signal": -150}}},
		want: `air,device=air-1,kind=air co2=40000,signal=-150,tvoc=0.000001,seq=1i ` + devNS,
	}, {
		name: "flagged future ts is placed at receive time",
		m: &devices.Message{DeviceID: "gas-0001", Kind: devices.KindGas, Seq: 7, TS: tsDevice.Add(24 * time.Hour), Received: tsRecv,
			TSFlag: devices.TSFuture, Telemetry: &devices.Telemetry{Fields: map[string]float64{"lel": 2}}},
		d:    gasDevice(devices.Location{Community: "c"}),
		want: `gas,community=c,device=gas-0001,kind=gas lel=2,seq=7i,device_ts=1740902400123i,ts_flag="future" 1740816001456789012`,
	}, {
		name: "flagged past ts",
		m: &devices.Message{DeviceID: "gas-0001", Kind: devices.KindGas, Seq: 8, TS: time.UnixMilli(1000), Received: tsRecv,
			TSFlag: devices.TSPast, Telemetry: &devices.Telemetry{Fields: map[string]float64{"lel": 2}}},
		want: `gas,device=gas-0001,kind=gas lel=2,seq=8i,device_ts=1000i,ts_flag="past" 1740816001456789012`,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := string(Line(tt.m, locOf(tt.d)))
			if got != tt.want {
				t.Fatalf("Line:\n got %s\nwant %s", got, tt.want)
			}
			if strings.Contains(got, "\n") {
				t.Fatalf("line contains a newline: %q", got)
			}
		})
	}
}

// TestLineRoundTrip parses what Line writes with the line-protocol parser and
// checks that tags, fields and the timestamp come back as they went in.
func TestLineRoundTrip(t *testing.T) {
	locs := []devices.Location{
		{Community: "阳光 社区", Grid: "第一,网格", Building: "3=号楼"},
		{Community: `"quoted"`, Grid: "a b c", Building: "x,y=z w"},
		{Community: "#hash", Grid: "=", Building: ","},
	}
	for _, loc := range locs {
		m := gasMessage(map[string]float64{"lel": 12.5, "battery": 80})
		got := Line(m, &loc)
		metrics, err := lp.NewParser(lp.NewMetricHandler()).Parse(append(got, '\n'))
		if err != nil || len(metrics) != 1 {
			t.Fatalf("parse %s: %v (%d metrics)", got, err, len(metrics))
		}
		pm := metrics[0]
		tags := map[string]string{}
		for _, tag := range pm.TagList() {
			tags[tag.Key] = tag.Value
		}
		want := map[string]string{"community": loc.Community, "grid": loc.Grid, "building": loc.Building, "device": "gas-0001", "kind": "gas"}
		for k, v := range want {
			if tags[k] != v {
				t.Errorf("%s: tag %s = %q, want %q", got, k, tags[k], v)
			}
		}
		fields := map[string]any{}
		for _, f := range pm.FieldList() {
			fields[f.Key] = f.Value
		}
		if fields["lel"] != 12.5 || fields["battery"] != 80.0 || fields["seq"] != int64(42) {
			t.Errorf("%s: fields %v", got, fields)
		}
		if !pm.Time().Equal(tsDevice) {
			t.Errorf("%s: time %v, want %v", got, pm.Time(), tsDevice)
		}
	}
}

// libraryLine is Line written with the client library: a write.Point
// encoded by the line-protocol encoder WritePoint uses. Line must agree
// with it byte for byte (after the backslash rule).
func libraryLine(m *devices.Message, d *devices.Device) []byte {
	p := write.NewPointWithMeasurement(string(m.Kind))
	tag := func(k, v string) {
		if v != "" {
			p.AddTag(k, strings.ReplaceAll(v, `\`, "＼"))
		}
	}
	var loc devices.Location
	if d != nil {
		loc = d.Location
	}
	tag("building", loc.Building)
	tag("community", loc.Community)
	tag("device", m.DeviceID)
	tag("grid", loc.Grid)
	tag("kind", string(m.Kind))
	names := slices.Sorted(maps.Keys(m.Telemetry.Fields))
	for _, n := range names {
		p.AddField(n, m.Telemetry.Fields[n])
	}
	p.AddField("seq", int64(m.Seq))
	if m.TSFlag != "" {
		p.AddField("device_ts", m.TS.UnixMilli())
		p.AddField("ts_flag", string(m.TSFlag))
	}
	p.SetTime(m.Time())
	var buf bytes.Buffer
	if _, err := lp.NewEncoder(&buf).Encode(p); err != nil {
		return nil
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

func TestLineMatchesLibrary(t *testing.T) {
	locs := []devices.Location{
		{Community: "阳光 社区,东", Grid: "a=b", Building: "1 号"},
		{Community: "tab\there", Grid: "cr\rlf\n", Building: "ff\f"},
		{Community: `back\slash`, Grid: `end\`, Building: `\,`},
		{Community: "#", Grid: "\"quoted\"", Building: "=,= ,"},
	}
	flags := []devices.TSFlag{devices.TSOK, devices.TSFuture, devices.TSPast}
	for i, loc := range locs {
		m := gasMessage(map[string]float64{"lel": 3.25, "temperature": -40, "battery": 1e-7, "signal": math.NaN()})
		m.TSFlag = flags[i%len(flags)]
		want := string(libraryLine(m, gasDevice(loc)))
		if got := string(Line(m, &loc)); got != want {
			t.Errorf("Line:\n got %s\nwant %s (library)", got, want)
		}
	}
}

func FuzzLine(f *testing.F) {
	f.Add("阳光 社区", "第一,网格", "3=号楼", 12.5, uint64(1), "")
	f.Add(`a\,b`, "\t\n", `"`, -1e300, uint64(1<<53), "future")
	f.Fuzz(func(t *testing.T, community, grid, building string, v float64, seq uint64, flag string) {
		m := gasMessage(map[string]float64{"lel": v, "temperature": v / 3})
		m.Seq = seq
		m.TSFlag = devices.TSFlag(flag)
		d := gasDevice(devices.Location{Community: community, Grid: grid, Building: building})
		got, want := Line(m, &d.Location), libraryLine(m, d)
		if !bytes.Equal(got, want) {
			t.Fatalf("Line:\n got %s\nwant %s (library)", got, want)
		}
	})
}

func benchMessage() (*devices.Message, *devices.Device) {
	m := &devices.Message{
		DeviceID: "air-000123", Kind: devices.KindAir, Seq: 123456, TS: tsDevice, Received: tsRecv,
		Telemetry: &devices.Telemetry{Fields: map[string]float64{
			"temperature": 21.5, "humidity": 45, "pm25": 12, "pm10": 30, "co2": 612, "tvoc": 0.12, "battery": 87, "signal": -71,
		}},
	}
	d := &devices.Device{ID: "air-000123", Kind: devices.KindAir, Location: devices.Location{Community: "阳光社区", Grid: "第一网格", Building: "3号楼"}}
	return m, d
}

func BenchmarkLine(b *testing.B) {
	m, d := benchMessage()
	b.ReportAllocs()
	for b.Loop() {
		if Line(m, &d.Location) == nil {
			b.Fatal("nil line")
		}
	}
}

// BenchmarkLineLibrary measures the client library's way, for comparison.
func BenchmarkLineLibrary(b *testing.B) {
	m, d := benchMessage()
	b.ReportAllocs()
	for b.Loop() {
		if libraryLine(m, d) == nil {
			b.Fatal("nil line")
		}
	}
}
