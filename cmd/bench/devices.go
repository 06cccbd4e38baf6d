package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/shouwang-hub/shouwang/devices"
	"github.com/shouwang-hub/shouwang/internal/sim"
)

// telemetryKinds are the kinds the telemetry load is spread over, in turn.
// Each has its own InfluxDB measurement.
var telemetryKinds = []devices.Kind{devices.KindGas, devices.KindSmoke, devices.KindAir}

// measurements is the FROM clause covering every telemetry kind.
var measurements = func() string {
	ms := make([]string, len(telemetryKinds))
	for i, k := range telemetryKinds {
		ms[i] = `"` + string(k) + `"`
	}
	return strings.Join(ms, ", ")
}()

// benchDevice returns a device of kind k with a plausible household, as
// an installer's import would have it.
func benchDevice(id string, k devices.Kind, i int) *devices.Device {
	return &devices.Device{
		ID: id, Kind: k,
		Location: devices.Location{
			Community: "基准社区", Grid: fmt.Sprintf("网格%d", i/200+1), Building: fmt.Sprintf("%d号楼", i/20+1),
			Unit: "1单元", Floor: fmt.Sprintf("%d", i%20/2+1), Household: fmt.Sprintf("%d-1-%d0%d", i/20+1, i%20/2+1, i%2+1),
		},
		Resident: devices.Resident{Name: "测试居民", BirthYear: 1945, LivesAlone: i%3 == 0},
	}
}

// telemetryDevices returns n devices named prefix-00001 …, their kinds
// taken in turn from telemetryKinds.
func telemetryDevices(prefix string, n int) []*devices.Device {
	ds := make([]*devices.Device, n)
	for i := range ds {
		ds[i] = benchDevice(fmt.Sprintf("%s-%05d", prefix, i+1), telemetryKinds[i%len(telemetryKinds)], i)
	}
	return ds
}

// sosDevices returns n emergency call buttons named prefix-00001 ….
func sosDevices(prefix string, n int) []*devices.Device {
	ds := make([]*devices.Device, n)
	for i := range ds {
		ds[i] = benchDevice(fmt.Sprintf("%s-%05d", prefix, i+1), devices.KindSOSButton, i)
	}
	return ds
}

// register registers ds through the console's CSV import, a thousand
// rows a request.
func register(ctx context.Context, base, token string, ds []*devices.Device) error {
	_, err := registerSpecs(ctx, base, token, ds)
	return err
}

// registerSpecs is register, returning each device with the password the
// hub issued.
func registerSpecs(ctx context.Context, base, token string, ds []*devices.Device) ([]sim.DeviceSpec, error) {
	var specs []sim.DeviceSpec
	for i := 0; i < len(ds); i += 1000 {
		s, err := sim.Register(ctx, base, token, ds[i:min(i+1000, len(ds))])
		if err != nil {
			return nil, err
		}
		specs = append(specs, s...)
	}
	return specs, nil
}

// baseTS is the device time of seq 0: an hour ago, so every message is
// within InfluxDB's retention and the hub's plausible window; message seq
// is placed seq×10 ms later, so each device's points have distinct times
// (InfluxDB would collapse two points of one series at one time).
var baseTS = time.Now().Add(-time.Hour).Truncate(time.Second).UnixMilli()

// telemetryPayload is message seq of a device of kind k. Every reading
// stays inside the quiet band, so no alert opens.
func telemetryPayload(k devices.Kind, seq int) []byte {
	ts := baseTS + int64(seq)*10
	b := make([]byte, 0, 160)
	b = append(b, `{"seq":`...)
	b = strconv.AppendInt(b, int64(seq), 10)
	b = append(b, `,"ts":`...)
	b = strconv.AppendInt(b, ts, 10)
	switch k {
	case devices.KindGas:
		b = fmt.Appendf(b, `,"lel":%.1f,"temperature":%.1f`, float64(seq%15)/10, 18+float64(seq%80)/10)
	case devices.KindSmoke:
		b = fmt.Appendf(b, `,"smoke":%.2f,"temperature":%.1f`, float64(seq%30)/100, 18+float64(seq%80)/10)
	case devices.KindAir:
		b = fmt.Appendf(b, `,"temperature":%.1f,"humidity":%d,"pm25":%d,"pm10":%d,"co2":%d,"tvoc":%.2f`,
			18+float64(seq%80)/10, 30+seq%40, 5+seq%60, 10+seq%100, 420+seq%700, 0.05+float64(seq%50)/100)
	}
	b = fmt.Appendf(b, `,"battery":%d,"signal":%d}`, 90-seq%5, -60-seq%20)
	return b
}

// pressPayload is an emergency call button's press.
func pressPayload(seq int, at time.Time) []byte {
	return fmt.Appendf(nil, `{"seq":%d,"ts":%d,"type":"sos"}`, seq, at.UnixMilli())
}
