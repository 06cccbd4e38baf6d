package main

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/shouwang-hub/shouwang/internal/testenv"
)

// TestInfluxOutage stops InfluxDB for 60 s in the middle of a 10,000
// message stream. The hub keeps acknowledging into its durable spool, says
// so on /readyz, and when InfluxDB returns the spool drains: still exactly
// 10,000 points.
func TestInfluxOutage(t *testing.T) {
	influx := testenv.Influx(t)
	m := startHub(t, hubOptions{Influx: influx})
	base := "http://" + m.HTTPAddr()
	specs := register(t, base, gasDevices("out", 100))
	s := connectDevices(t, "tcp://"+m.BrokerAddr(), specs)
	all := ids(specs)

	publishStream(t, s, all, 1, 30, nil)
	eventually(t, time.Minute, "the first 3,000 points", func() (bool, string) {
		n := influx.Count(t, `SELECT count(seq) FROM gas`)
		return n == 3000, fmt.Sprintf("%d", n)
	})

	influx.Stop()
	outageStart := time.Now()
	// 4,000 messages spread over the outage: one per device every 1.5 s.
	pace := time.NewTicker(1500 * time.Millisecond / 100)
	defer pace.Stop()
	paced := func() { <-pace.C }
	publishStream(t, s, all, 31, 70, paced)
	eventually(t, 30*time.Second, "readyz to report InfluxDB unreachable", func() (bool, string) {
		var ready struct {
			OK     bool
			Checks map[string]string
		}
		code := getJSON(t, base+"/readyz", "", &ready)
		return code == http.StatusOK && strings.HasPrefix(ready.Checks["influxdb"], "unreachable"), fmt.Sprintf("%d %v", code, ready.Checks)
	})
	eventually(t, 30*time.Second, "the outage's 4,000 messages spooled", func() (bool, string) {
		d := metric(t, base, "shouwang_spool_depth", "")
		return d == 4000, fmt.Sprintf("depth %v", d)
	})
	if rest := 60*time.Second - time.Since(outageStart); rest > 0 {
		<-time.After(rest) // the outage lasts a minute, as the issue asks
	}
	influx.Start()

	publishStream(t, s, all, 71, 100, nil)
	eventually(t, 2*time.Minute, "all 10,000 points after the outage", func() (bool, string) {
		n := influx.Count(t, `SELECT count(seq) FROM gas`)
		return n == 10000, fmt.Sprintf("%d points, spool %v", n, metric(t, base, "shouwang_spool_depth", ""))
	})
	if f := metric(t, base, "shouwang_influx_write_failures_total", ""); f == 0 {
		t.Error("no failed writes counted during the outage")
	}
}
