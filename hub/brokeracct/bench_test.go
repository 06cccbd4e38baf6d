package brokeracct

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shouwang-hub/shouwang/devices"
	"github.com/shouwang-hub/shouwang/devices/vendors"
)

// benchAccounts holds n native devices sharing one password (one $7$ hash:
// hashing n would take n × 1.4 ms), and serves the EMQX endpoints on
// loopback.
func benchAccounts(b *testing.B, n int) (*Accounts, *httptest.Server) {
	b.Helper()
	hash := devices.HashPassword("bench-password")
	reg := &registry{accounts: make(map[string]Account, n)}
	for i := range n {
		id := fmt.Sprintf("sos-%06d", i)
		reg.accounts[id] = Account{Principal: devices.Principal{Role: devices.RoleDevice, ID: id, Source: devices.SourceNative}, Hash: hash}
	}
	a, err := New(Config{Source: reg, Policy: vendors.Policy, ServiceUser: "hub", ServicePassword: "s"}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		b.Fatal(err)
	}
	if err := a.Load(context.Background()); err != nil {
		b.Fatal(err)
	}
	h := a.EMQXHandler(secret)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		h.ServeHTTP(w, r)
		served.add([]time.Duration{time.Since(start)})
	}))
	b.Cleanup(srv.Close)
	return a, srv
}

// served collects the server side's time per request (the body read, the
// decision, the answer written): the hub's own latency, without the
// client's scheduling.
var served latencies

// latencies collects request times from parallel goroutines.
type latencies struct {
	mu  sync.Mutex
	all []time.Duration
}

func (l *latencies) add(d []time.Duration) {
	l.mu.Lock()
	l.all = append(l.all, d...)
	l.mu.Unlock()
}

// report adds the 50th and 99th percentiles to the benchmark's output,
// their units prefixed.
func (l *latencies) report(b *testing.B, prefix string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	slices.Sort(l.all)
	if len(l.all) == 0 {
		return
	}
	q := func(p float64) float64 { return float64(l.all[int(p*float64(len(l.all)-1))].Microseconds()) }
	b.ReportMetric(q(0.50), prefix+"p50-µs")
	b.ReportMetric(q(0.99), prefix+"p99-µs")
}

// benchEMQX POSTs the body of request i to path from parallel clients over
// keep-alive connections, as EMQX's connection pool does, timing each.
func benchEMQX(b *testing.B, srv *httptest.Server, path string, body func(i int64) []byte) {
	var lat latencies
	var next atomic.Int64
	served = latencies{}
	tr := &http.Transport{MaxIdleConnsPerHost: 64}
	b.Cleanup(tr.CloseIdleConnections)
	client := &http.Client{Transport: tr}
	url := srv.URL + "/" + path
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		var mine []time.Duration
		for pb.Next() {
			req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body(next.Add(1))))
			req.Header.Set("Authorization", "Bearer "+secret)
			req.Header.Set("Content-Type", "application/json")
			start := time.Now()
			resp, err := client.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			mine = append(mine, time.Since(start))
			if resp.StatusCode != http.StatusOK {
				b.Errorf("status %d", resp.StatusCode)
				return
			}
		}
		lat.add(mine)
	})
	b.StopTimer()
	lat.report(b, "")
	served.report(b, "server-")
}

const benchDevices = 100_000

// BenchmarkEMQXAuthn: devices reconnecting (each verified once before), the
// common case: the answer comes from memory.
func BenchmarkEMQXAuthn(b *testing.B) {
	a, srv := benchAccounts(b, benchDevices)
	for i := range 1000 { // a thousand devices that connected before
		a.Authenticate(fmt.Sprintf("sos-%06d", i), fmt.Sprintf("sos-%06d", i), "bench-password")
	}
	benchEMQX(b, srv, AuthnPath, func(i int64) []byte {
		id := fmt.Sprintf("sos-%06d", i%1000)
		return fmt.Appendf(nil, `{"clientid":%q,"username":%q,"password":"bench-password"}`, id, id)
	})
}

// BenchmarkEMQXAuthnFirst: every request a device's first connection since
// the hub started: the $7$ hash (PBKDF2-SHA512, 1,000 rounds) is computed.
func BenchmarkEMQXAuthnFirst(b *testing.B) {
	_, srv := benchAccounts(b, benchDevices)
	benchEMQX(b, srv, AuthnPath, func(i int64) []byte {
		id := fmt.Sprintf("sos-%06d", i%benchDevices)
		return fmt.Appendf(nil, `{"clientid":%q,"username":%q,"password":"bench-password"}`, id, id)
	})
}

// BenchmarkEMQXAuthz: a publish decided by the topic policy.
func BenchmarkEMQXAuthz(b *testing.B) {
	_, srv := benchAccounts(b, benchDevices)
	benchEMQX(b, srv, AuthzPath, func(i int64) []byte {
		id := fmt.Sprintf("sos-%06d", i%benchDevices)
		return fmt.Appendf(nil, `{"clientid":%q,"username":%q,"topic":"shouwang/v1/%s/event","action":"publish","qos":1}`, id, id, id)
	})
}

// BenchmarkDecide: the decisions alone, without HTTP: a reconnecting
// device's authentication and a publish's authorization, from memory.
func BenchmarkDecide(b *testing.B) {
	a, _ := benchAccounts(b, benchDevices)
	ids := make([]string, 1000)
	topics := make([]string, len(ids))
	for i := range ids {
		ids[i] = fmt.Sprintf("sos-%06d", i)
		topics[i] = devices.Topic(ids[i], devices.ChannelEvent)
		a.Authenticate(ids[i], ids[i], "bench-password")
	}
	b.Run("authn", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			if d := a.Authenticate(ids[i%len(ids)], ids[i%len(ids)], "bench-password"); d.Result != Allow {
				b.Fatal(d)
			}
		}
	})
	b.Run("authz", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			if d := a.Authorize(ids[i%len(ids)], ids[i%len(ids)], topics[i%len(ids)], "publish"); d.Result != Allow {
				b.Fatal(d)
			}
		}
	})
}
