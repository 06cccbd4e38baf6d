package console_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shouwang-hub/shouwang"
	"github.com/shouwang-hub/shouwang/accounts"
	"github.com/shouwang-hub/shouwang/accounts/accountstest"
	"github.com/shouwang-hub/shouwang/internal/testenv"

	"github.com/gorilla/websocket"

	"github.com/shouwang-hub/shouwang/alerts"
	"github.com/shouwang-hub/shouwang/console"
	"github.com/shouwang-hub/shouwang/console/consoletest"
	"github.com/shouwang-hub/shouwang/devices"
)

// liveEnv is a console with a fake live source, served by httptest.
type liveEnv struct {
	srv      *console.Server
	url      string // http://127.0.0.1:port
	live     *consoletest.Live
	accounts *accountstest.Accounts
	token    string
}

// startLive serves a console whose live feed runs on a fresh fake source.
func startLive(t *testing.T, opts console.LiveOptions, origins ...string) *liveEnv {
	t.Helper()
	e := &liveEnv{live: consoletest.NewLive(map[string]any{"total": 2, "online": 1, "offline": 1}), accounts: accountstest.NewAccounts()}
	u := e.accounts.AddUser("op", accounts.RoleOperator, "pw-op")
	e.token = e.accounts.AddToken(u.ID, "token-op")
	srv, err := console.New(console.Config{
		Registry: consoletest.NewRegistry(),
		Accounts: e.accounts,
		Alerts:   consoletest.NewAlerts(),
		History: func(context.Context, devices.Kind, string, string, time.Time, time.Time, time.Duration) ([]devices.Reading, error) {
			return nil, nil
		},
		Ready:          func(context.Context) (bool, map[string]string) { return true, nil },
		Metrics:        http.NotFoundHandler(),
		Live:           e.live,
		LiveOptions:    opts,
		AllowedOrigins: origins,
	}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatalf("console.New: %v", err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	t.Cleanup(srv.CloseLive) // first: httptest does not wait for hijacked connections
	e.srv, e.url = srv, hs.URL
	return e
}

func (e *liveEnv) wsURL(query string) string {
	u := "ws" + strings.TrimPrefix(e.url, "http") + "/api/v1/live"
	if query != "" {
		u += "?" + query
	}
	return u
}

// bearer returns headers authenticating as the test operator.
func (e *liveEnv) bearer() http.Header {
	return http.Header{"Authorization": {"Bearer " + e.token}}
}

// connect opens the feed as the operator and fails the test if it cannot.
func (e *liveEnv) connect(t *testing.T, query string) *websocket.Conn {
	t.Helper()
	return e.connectWith(t, websocket.DefaultDialer, query, e.bearer())
}

func (e *liveEnv) connectWith(t *testing.T, d *websocket.Dialer, query string, h http.Header) *websocket.Conn {
	t.Helper()
	c, resp, err := d.Dial(e.wsURL(query), h)
	if err != nil {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		t.Fatalf("dial %s: %v (status %d)", query, err, status)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// refused dials and expects the handshake to be refused with status and a
// JSON error of code.
func (e *liveEnv) refused(t *testing.T, query string, h http.Header, status int, code string) {
	t.Helper()
	c, resp, err := websocket.DefaultDialer.Dial(e.wsURL(query), h)
	if err == nil {
		c.Close()
		t.Fatalf("dial with %v succeeded, want %d", h, status)
	}
	if resp == nil {
		t.Fatalf("dial with %v: %v, and no response", h, err)
	}
	b, _ := io.ReadAll(resp.Body)
	r := response{status: resp.StatusCode, header: resp.Header, body: b}
	r.wantError(t, status, code, "")
}

// liveMsg is any message of the feed.
type liveMsg struct {
	Type    string          `json:"type"`
	Seq     int64           `json:"seq"`
	Alerts  []*alerts.Alert `json:"alerts"`
	Devices map[string]any  `json:"devices"`
	Alert   *alerts.Alert   `json:"alert"`
}

func (m liveMsg) String() string {
	if m.Type == "change" && m.Alert != nil {
		return fmt.Sprintf("change %d (alert %d v%d %s)", m.Seq, m.Alert.ID, m.Alert.Version, m.Alert.State)
	}
	return fmt.Sprintf("%s %d (%d alerts)", m.Type, m.Seq, len(m.Alerts))
}

// readMsg reads the next message, failing the test after 10 s.
func readMsg(t *testing.T, c *websocket.Conn) liveMsg {
	t.Helper()
	m, err := tryRead(c)
	if err != nil {
		t.Fatalf("read live message: %v", err)
	}
	return m
}

func tryRead(c *websocket.Conn) (liveMsg, error) {
	var m liveMsg
	if err := c.SetReadDeadline(time.Now().Add(10 * time.Second)); err != nil {
		return m, err
	}
	err := c.ReadJSON(&m)
	return m, err
}

// wantChanges reads one change message per seq and checks their order.
func wantChanges(t *testing.T, c *websocket.Conn, seqs ...int64) {
	t.Helper()
	for _, seq := range seqs {
		if m := readMsg(t, c); m.Type != "change" || m.Seq != seq || m.Alert == nil {
			t.Fatalf("got %v, want change %d", m, seq)
		}
	}
}

// wantClose reads until the connection ends and checks the close code.
func wantClose(t *testing.T, c *websocket.Conn, code int, text string) {
	t.Helper()
	for {
		if err := c.SetReadDeadline(time.Now().Add(30 * time.Second)); err != nil {
			t.Fatal(err)
		}
		_, _, err := c.ReadMessage()
		if err == nil {
			continue
		}
		var ce *websocket.CloseError
		if !errors.As(err, &ce) {
			t.Fatalf("connection ended with %v, want close %d", err, code)
		}
		if ce.Code != code || text != "" && ce.Text != text {
			t.Fatalf("closed with %d %q, want %d %q", ce.Code, ce.Text, code, text)
		}
		return
	}
}

// waitFor polls cond until it holds, failing the test after 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	testenv.Eventually(t, 10*time.Second, what, cond)
}

// liveAlert is an alert as the hub would publish it, with a timeline the
// feed must leave out.
func liveAlert(id int64, state alerts.State, version int64) *alerts.Alert {
	now := time.Now().UTC().Truncate(time.Millisecond)
	return &alerts.Alert{
		ID: id, Kind: alerts.KindSOS, Severity: alerts.SeverityCritical, Priority: 1, State: state,
		DeviceID: fmt.Sprintf("sos-%d", id),
		Device:   devices.Device{ID: fmt.Sprintf("sos-%d", id), Kind: devices.KindSOSButton, Location: devices.Location{Community: "青山社区"}},
		OpenedAt: now, LastOccurrence: now, Occurrences: 1, UpdatedAt: now, Version: version,
		Timeline: []alerts.TimelineEntry{{At: now, Actor: alerts.System, Action: alerts.TimelineOpened}},
	}
}

func TestLiveRefusesBeforeUpgrade(t *testing.T) {
	e := startLive(t, console.LiveOptions{}, "https://duty.example.org")
	withOrigin := func(origin string) http.Header {
		h := e.bearer()
		h.Set("Origin", origin)
		return h
	}
	e.refused(t, "", nil, http.StatusUnauthorized, shouwang.EUNAUTHORIZED)
	e.refused(t, "", http.Header{"Authorization": {"Bearer nope"}}, http.StatusUnauthorized, shouwang.EUNAUTHORIZED)
	e.refused(t, "", http.Header{"Cookie": {"sw_session=nope"}}, http.StatusUnauthorized, shouwang.EUNAUTHORIZED)
	e.refused(t, "", withOrigin("https://evil.example.com"), http.StatusForbidden, shouwang.EFORBIDDEN)
	e.refused(t, "", withOrigin("null"), http.StatusForbidden, shouwang.EFORBIDDEN)
	// A foreign page is refused whether or not the browser sends a session.
	e.refused(t, "", http.Header{"Origin": {"https://evil.example.com"}}, http.StatusForbidden, shouwang.EFORBIDDEN)
	e.refused(t, "since=-1", e.bearer(), http.StatusBadRequest, shouwang.EINVALID)
	e.refused(t, "since=abc", e.bearer(), http.StatusBadRequest, shouwang.EINVALID)

	// A plain GET (not an upgrade) is answered in JSON too.
	rq, _ := http.NewRequest("GET", e.url+"/api/v1/live", nil)
	rq.Header.Set("Authorization", "Bearer "+e.token)
	resp, err := http.DefaultClient.Do(rq)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	response{status: resp.StatusCode, body: b}.wantError(t, http.StatusBadRequest, shouwang.EINVALID, "WebSocket")

	if n := e.live.Subscribers(); n != 0 {
		t.Errorf("refused requests subscribed to the source: %d subscriptions", n)
	}
	if n := e.srv.LiveClients(); n != 0 {
		t.Errorf("LiveClients = %d after refusals", n)
	}

	// The console's own origin, an allowed one, and scripts (no Origin) get in.
	host := strings.TrimPrefix(e.url, "http://")
	for _, h := range []http.Header{withOrigin("http://" + host), withOrigin("https://duty.example.org"), e.bearer()} {
		c := e.connectWith(t, websocket.DefaultDialer, "", h)
		if m := readMsg(t, c); m.Type != "snapshot" {
			t.Fatalf("with %v: first message %v, want a snapshot", h, m)
		}
	}
}

func TestLiveUnavailable(t *testing.T) {
	e := consoletest.Start(t)
	c, resp, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(e.URL, "http")+"/api/v1/live", http.Header{"Authorization": {"Bearer " + tok(e, accounts.RoleOperator)}})
	if err == nil {
		c.Close()
		t.Fatal("live feed without a source accepted a client")
	}
	b, _ := io.ReadAll(resp.Body)
	response{status: resp.StatusCode, body: b}.wantError(t, http.StatusServiceUnavailable, "unavailable", "live feed")
}

func TestLiveBadOptions(t *testing.T) {
	for name, cfg := range map[string]func(*console.Config){
		"PingPeriod": func(c *console.Config) {
			c.LiveOptions = console.LiveOptions{PongWait: time.Second, PingPeriod: 2 * time.Second}
		},
		"SendBuffer":     func(c *console.Config) { c.LiveOptions = console.LiveOptions{SendBuffer: -1} },
		"AllowedOrigins": func(c *console.Config) { c.AllowedOrigins = []string{"duty.example.org"} },
	} {
		c := console.Config{Registry: consoletest.NewRegistry(), Accounts: accountstest.NewAccounts(), Alerts: consoletest.NewAlerts(),
			History: func(context.Context, devices.Kind, string, string, time.Time, time.Time, time.Duration) ([]devices.Reading, error) {
				return nil, nil
			},
			Ready:   func(context.Context) (bool, map[string]string) { return true, nil },
			Metrics: http.NotFoundHandler(), Live: consoletest.NewLive(nil)}
		cfg(&c)
		_, err := console.New(c, slog.New(slog.NewTextHandler(io.Discard, nil)))
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s: New = %v, want an error naming it", name, err)
		}
	}
}

func TestLiveSnapshotThenChanges(t *testing.T) {
	e := startLive(t, console.LiveOptions{})
	e.live.Publish(liveAlert(1, alerts.StateNew, 1))
	e.live.Publish(liveAlert(2, alerts.StateNew, 1))
	e.live.Publish(liveAlert(3, alerts.StateNew, 1))
	e.live.Publish(liveAlert(3, alerts.StateResolved, 2))

	c := e.connect(t, "")
	m := readMsg(t, c)
	if m.Type != "snapshot" || m.Seq != 4 {
		t.Fatalf("first message %v, want snapshot 4", m)
	}
	if len(m.Alerts) != 2 || m.Alerts[0].ID != 1 || m.Alerts[1].ID != 2 {
		t.Fatalf("snapshot alerts %v, want the open 1 and 2", m.Alerts)
	}
	for _, a := range m.Alerts {
		if a.Timeline != nil {
			t.Errorf("snapshot alert %d has a timeline", a.ID)
		}
	}
	if m.Devices["total"] != float64(2) || m.Devices["online"] != float64(1) {
		t.Errorf("snapshot devices = %v, want the source's summary", m.Devices)
	}

	second := e.connect(t, "")
	readMsg(t, second)
	if n := e.live.Subscribers(); n != 1 {
		t.Errorf("%d subscriptions to the source for two clients, want one", n)
	}

	e.live.Publish(liveAlert(1, alerts.StateAccepted, 2))
	e.live.Publish(liveAlert(2, alerts.StateClosed, 2))
	e.live.Publish(liveAlert(4, alerts.StateNew, 1))
	for _, conn := range []*websocket.Conn{c, second} {
		for _, want := range []struct {
			seq, id, version int64
			state            alerts.State
		}{{5, 1, 2, alerts.StateAccepted}, {6, 2, 2, alerts.StateClosed}, {7, 4, 1, alerts.StateNew}} {
			m := readMsg(t, conn)
			if m.Type != "change" || m.Seq != want.seq || m.Alert == nil || m.Alert.ID != want.id || m.Alert.Version != want.version || m.Alert.State != want.state {
				t.Fatalf("got %v, want change %d of alert %d v%d %s", m, want.seq, want.id, want.version, want.state)
			}
			if m.Alert.Timeline != nil {
				t.Errorf("change %d carries a timeline", m.Seq)
			}
		}
	}
	if n := e.srv.LiveClients(); n != 2 {
		t.Errorf("LiveClients = %d, want 2", n)
	}
}

// A change committed while a client's snapshot is being read reaches the
// client after the snapshot, even if the snapshot already shows it.
func TestLiveChangesDuringSnapshot(t *testing.T) {
	e := startLive(t, console.LiveOptions{})
	e.live.Publish(liveAlert(1, alerts.StateNew, 1))
	started, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	e.live.OnSnapshot = func() {
		once.Do(func() {
			close(started)
			<-release
		})
	}
	done := make(chan []liveMsg, 1)
	go func() {
		c, _, err := websocket.DefaultDialer.Dial(e.wsURL(""), e.bearer())
		if err != nil {
			done <- nil
			return
		}
		defer c.Close()
		var got []liveMsg
		for range 3 {
			m, err := tryRead(c)
			if err != nil {
				break
			}
			got = append(got, m)
		}
		done <- got
	}()
	<-started
	e.live.Publish(liveAlert(1, alerts.StateAccepted, 2))
	e.live.Publish(liveAlert(2, alerts.StateNew, 1))
	close(release)
	got := <-done
	if len(got) != 3 {
		t.Fatalf("got %v, want a snapshot and two changes", got)
	}
	if got[0].Type != "snapshot" || got[0].Seq != 1 {
		t.Fatalf("first message %v, want snapshot 1 (the seq when the client joined)", got[0])
	}
	if got[1].Type != "change" || got[1].Seq != 2 || got[2].Type != "change" || got[2].Seq != 3 {
		t.Fatalf("then %v, %v; want changes 2 and 3", got[1], got[2])
	}
}

func TestLiveResume(t *testing.T) {
	e := startLive(t, console.LiveOptions{})
	e.live.Publish(liveAlert(1, alerts.StateNew, 1))
	c := e.connect(t, "")
	if m := readMsg(t, c); m.Type != "snapshot" || m.Seq != 1 {
		t.Fatalf("got %v, want snapshot 1", m)
	}
	e.live.Publish(liveAlert(1, alerts.StateAccepted, 2))
	wantChanges(t, c, 2)
	c.Close() // a network blip
	waitFor(t, "the client to leave", func() bool { return e.srv.LiveClients() == 0 })

	e.live.Publish(liveAlert(2, alerts.StateNew, 1))
	e.live.Publish(liveAlert(1, alerts.StateDispatched, 3))
	e.live.Publish(liveAlert(3, alerts.StateNew, 1))

	c = e.connect(t, "since=2")
	wantChanges(t, c, 3, 4, 5)
	e.live.Publish(liveAlert(2, alerts.StateAccepted, 2))
	wantChanges(t, c, 6) // no change twice, and live ones follow

	// Resuming at the newest seq sends nothing until the next change.
	up := e.connect(t, "since=6")
	e.live.Publish(liveAlert(3, alerts.StateAccepted, 2))
	wantChanges(t, up, 7)
	wantChanges(t, c, 7)
}

func TestLiveResumeFallsBackToSnapshot(t *testing.T) {
	e := startLive(t, console.LiveOptions{MaxReplay: 3})
	for i := range int64(6) {
		e.live.Publish(liveAlert(i+1, alerts.StateNew, 1))
	}
	e.live.Prune(3) // changes 3..6 are kept

	for _, tc := range []struct {
		since   string
		replay  []int64 // nil: a snapshot
		comment string
	}{
		{"1", nil, "change 2 was pruned"},
		{"2", nil, "four changes are more than MaxReplay"},
		{"3", []int64{4, 5, 6}, "all kept, within MaxReplay"},
		{"0", nil, "from the start, with the start pruned"},
		{"99", nil, "ahead of the feed: another hub's numbers"},
	} {
		c := e.connect(t, "since="+tc.since)
		if tc.replay == nil {
			m := readMsg(t, c)
			if m.Type != "snapshot" || m.Seq != 6 || len(m.Alerts) != 6 {
				t.Errorf("since=%s (%s): got %v, want snapshot 6 of 6 alerts", tc.since, tc.comment, m)
			}
		} else {
			wantChanges(t, c, tc.replay...)
		}
		c.Close()
	}
}

func TestLiveBroadcastToManyClients(t *testing.T) {
	e := startLive(t, console.LiveOptions{})
	e.live.Publish(liveAlert(1, alerts.StateNew, 1))
	const n = 100
	conns := make([]*websocket.Conn, n)
	for i := range conns {
		conns[i] = e.connect(t, "")
		if m := readMsg(t, conns[i]); m.Type != "snapshot" || m.Seq != 1 {
			t.Fatalf("client %d: got %v, want snapshot 1", i, m)
		}
	}
	if got := e.srv.LiveClients(); got != n {
		t.Fatalf("LiveClients = %d, want %d", got, n)
	}
	if got := e.live.Subscribers(); got != 1 {
		t.Errorf("%d subscriptions to the source, want one for the whole console", got)
	}
	e.live.Publish(liveAlert(1, alerts.StateAccepted, 2))
	e.live.Publish(liveAlert(2, alerts.StateNew, 1))
	e.live.Publish(liveAlert(1, alerts.StateResolved, 3))

	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i, c := range conns {
		wg.Go(func() {
			for _, seq := range []int64{2, 3, 4} {
				m, err := tryRead(c)
				if err != nil || m.Type != "change" || m.Seq != seq {
					errs <- fmt.Errorf("client %d: got %v, %v; want change %d", i, m, err, seq)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// A client that stops reading fills its buffer and is dropped with 4000
// "lagging"; the others keep receiving every change meanwhile.
func TestLiveDropsSlowClient(t *testing.T) {
	e := startLive(t, console.LiveOptions{SendBuffer: 4, SourceBuffer: 4096, WriteWait: time.Minute})
	e.live.Publish(liveAlert(1, alerts.StateNew, 1))

	type reader struct {
		c    *websocket.Conn
		last atomic.Int64
		errs chan error
	}
	readers := make([]*reader, 2)
	for i := range readers {
		r := &reader{c: e.connect(t, ""), errs: make(chan error, 1)}
		readers[i] = r
		go func() {
			for {
				m, err := tryRead(r.c)
				if err != nil {
					r.errs <- err
					return
				}
				if m.Type == "change" && m.Seq != r.last.Load()+1 {
					r.errs <- fmt.Errorf("reader %d: got %v after %d", i, m, r.last.Load())
					return
				}
				r.last.Store(m.Seq)
			}
		}()
	}

	// The slow client never reads. (Its socket's receive buffer grows only
	// as it reads, so it stays small.)
	slow := e.connect(t, "")
	waitFor(t, "three clients", func() bool { return e.srv.LiveClients() == 3 })

	big := strings.Repeat("长", 20<<10) // 60 KB per change
	seq := int64(1)
	for e.srv.LiveClients() == 3 {
		if seq > 2000 {
			t.Fatal("the slow client was never dropped")
		}
		a := liveAlert(1, alerts.StateDispatched, seq+1)
		a.DispatchedTo = big
		seq = e.live.Publish(a).Seq
		for _, r := range readers {
			waitFor(t, fmt.Sprintf("change %d to reach the readers", seq), func() bool {
				select {
				case err := <-r.errs:
					t.Fatal(err)
				default:
				}
				return r.last.Load() >= seq
			})
		}
	}
	t.Logf("slow client dropped after %d changes", seq-1)

	seq = e.live.Publish(liveAlert(2, alerts.StateNew, 1)).Seq
	for _, r := range readers {
		waitFor(t, "the readers to get the change after the drop", func() bool { return r.last.Load() == seq })
	}
	// Now it reads again: first what was in flight, then the reason.
	wantClose(t, slow, 4000, "lagging")
	if n := e.srv.LiveClients(); n != 2 {
		t.Errorf("LiveClients = %d, want the two readers", n)
	}
}

// When the source drops the console's own subscription, the console
// resubscribes and sends every client a fresh snapshot.
func TestLiveResyncWhenSourceDropsTheConsole(t *testing.T) {
	e := startLive(t, console.LiveOptions{})
	e.live.Publish(liveAlert(1, alerts.StateNew, 1))
	conns := []*websocket.Conn{e.connect(t, ""), e.connect(t, "")}
	for _, c := range conns {
		readMsg(t, c)
	}
	missed := e.live.Lag(liveAlert(2, alerts.StateNew, 1), liveAlert(1, alerts.StateResolved, 2))
	for i, c := range conns {
		m := readMsg(t, c)
		if m.Type != "snapshot" || m.Seq != missed || len(m.Alerts) != 1 || m.Alerts[0].ID != 2 {
			t.Fatalf("client %d: got %v, want snapshot %d with alert 2 only", i, m, missed)
		}
	}
	e.live.Publish(liveAlert(2, alerts.StateAccepted, 2))
	for _, c := range conns {
		wantChanges(t, c, missed+1)
	}
	if n := e.live.Subscribers(); n != 1 {
		t.Errorf("%d subscriptions after resubscribing, want 1", n)
	}
}

func TestLiveSourceEnds(t *testing.T) {
	e := startLive(t, console.LiveOptions{})
	c := e.connect(t, "")
	readMsg(t, c)
	e.live.End()
	wantClose(t, c, websocket.CloseGoingAway, "")
	e.refused(t, "", e.bearer(), http.StatusServiceUnavailable, "unavailable")
}

func TestCloseLive(t *testing.T) {
	e := startLive(t, console.LiveOptions{})
	conns := []*websocket.Conn{e.connect(t, ""), e.connect(t, ""), e.connect(t, "")}
	for _, c := range conns {
		readMsg(t, c)
	}
	e.srv.CloseLive()
	if n := e.srv.LiveClients(); n != 0 {
		t.Errorf("LiveClients = %d after CloseLive", n)
	}
	if n := e.live.Subscribers(); n != 0 {
		t.Errorf("%d subscriptions after CloseLive", n)
	}
	for _, c := range conns {
		wantClose(t, c, websocket.CloseGoingAway, "server shutting down")
	}
	e.refused(t, "", e.bearer(), http.StatusServiceUnavailable, "unavailable")
	e.srv.CloseLive() // idempotent
}

func TestLiveSessionEnds(t *testing.T) {
	e := startLive(t, console.LiveOptions{PingPeriod: 20 * time.Millisecond, PongWait: 5 * time.Second})
	c := e.connect(t, "")
	readMsg(t, c)
	if err := e.accounts.DeleteToken(context.Background(), accountstest.TokenHash(e.token)); err != nil {
		t.Fatal(err)
	}
	wantClose(t, c, websocket.ClosePolicyViolation, "")
}

// A password reset or a disable closes the account's open live feeds at
// once, not at their next ping (an hour away here).
func TestLiveClosesWhenAnAdminEndsTheSessions(t *testing.T) {
	for _, action := range []struct{ path, body string }{
		{"/password", `{"password":"a-new-long-password"}`},
		{"/disable", ``},
	} {
		t.Run(strings.TrimPrefix(action.path, "/"), func(t *testing.T) {
			e := startLive(t, console.LiveOptions{PingPeriod: time.Hour, PongWait: 2 * time.Hour})
			admin := e.accounts.AddUser("boss", accounts.RoleAdmin, "pw-boss")
			adminToken := e.accounts.AddToken(admin.ID, "token-boss")
			c := e.connect(t, "")
			readMsg(t, c)
			op, _, err := e.accounts.UserByName(context.Background(), "op")
			if err != nil {
				t.Fatal(err)
			}
			req, _ := http.NewRequest(http.MethodPost, fmt.Sprintf("%s/api/v1/users/%d%s", e.url, op.ID, action.path), strings.NewReader(action.body))
			req.Header.Set("Authorization", "Bearer "+adminToken)
			req.Header.Set("Content-Type", "application/json")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("POST %s: status %d", action.path, resp.StatusCode)
			}
			wantClose(t, c, websocket.ClosePolicyViolation, "session ended; log in again")
		})
	}
}

// Pings keep a reading client connected past PongWait; a silent one is
// disconnected.
func TestLivePingPong(t *testing.T) {
	e := startLive(t, console.LiveOptions{PingPeriod: 20 * time.Millisecond, PongWait: 200 * time.Millisecond})
	silent := e.connect(t, "")
	c := e.connect(t, "")
	var pings atomic.Int32
	c.SetPingHandler(func(data string) error {
		pings.Add(1)
		return c.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(time.Second))
	})
	msgs := make(chan liveMsg, 16)
	go func() {
		defer close(msgs)
		for {
			m, err := tryRead(c)
			if err != nil {
				return
			}
			msgs <- m
		}
	}()
	if m := <-msgs; m.Type != "snapshot" {
		t.Fatalf("got %v, want a snapshot", m)
	}
	waitFor(t, "the silent client to be disconnected", func() bool { return e.srv.LiveClients() == 1 })
	waitFor(t, "20 pings (longer than PongWait)", func() bool { return pings.Load() >= 20 })
	seq := e.live.Publish(liveAlert(1, alerts.StateNew, 1)).Seq
	if m, ok := <-msgs; !ok || m.Type != "change" || m.Seq != seq {
		t.Fatalf("got %v (open %v), want change %d", m, ok, seq)
	}
	_ = silent
}

func TestLiveReadLimit(t *testing.T) {
	e := startLive(t, console.LiveOptions{})
	c := e.connect(t, "")
	readMsg(t, c)
	if err := c.WriteMessage(websocket.TextMessage, []byte(`{"hello":"ignored"}`)); err != nil {
		t.Fatal(err)
	}
	seq := e.live.Publish(liveAlert(1, alerts.StateNew, 1)).Seq
	wantChanges(t, c, seq)
	if err := c.WriteMessage(websocket.TextMessage, make([]byte, 5000)); err != nil {
		t.Fatal(err)
	}
	wantClose(t, c, websocket.CloseMessageTooBig, "")
	waitFor(t, "the client to be gone", func() bool { return e.srv.LiveClients() == 0 })
}

// A browser opens the feed with its session cookie from the console's own
// page; the same cookie from another site's page is refused, and the feed
// ends with the session.
func TestLiveWithSessionCookie(t *testing.T) {
	e := startLive(t, console.LiveOptions{PingPeriod: 20 * time.Millisecond, PongWait: 5 * time.Second})
	resp, err := http.Post(e.url+"/api/v1/login", "application/json", strings.NewReader(`{"username":"op","password":"pw-op","session":true}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var cookie *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == "sw_session" {
			cookie = c
		}
	}
	if resp.StatusCode != http.StatusOK || cookie == nil {
		t.Fatalf("session login: status %d, cookies %v", resp.StatusCode, resp.Cookies())
	}
	browser := func(origin string) http.Header {
		return http.Header{"Cookie": {cookie.String()}, "Origin": {origin}}
	}
	e.refused(t, "", browser("https://evil.example.com"), http.StatusForbidden, shouwang.EFORBIDDEN)
	c := e.connectWith(t, websocket.DefaultDialer, "", browser(e.url))
	if m := readMsg(t, c); m.Type != "snapshot" {
		t.Fatalf("got %v, want a snapshot", m)
	}
	if err := e.accounts.DeleteToken(context.Background(), accountstest.TokenHash(cookie.Value)); err != nil {
		t.Fatal(err)
	}
	wantClose(t, c, websocket.ClosePolicyViolation, "session ended; log in again")
}

// A source without a devices summary gets the console's own, the object
// GET /api/v1/devices/summary answers.
func TestLiveSnapshotWithConsoleSummary(t *testing.T) {
	live := consoletest.NewLive(nil)
	e := consoletest.Start(t, func(c *console.Config) { c.Live = live })
	if err := e.Registry.CreateDevice(context.Background(), &devices.Device{ID: "g-1", Kind: devices.KindGas, Location: devices.Location{Community: "Heping"}}, "hash"); err != nil {
		t.Fatal(err)
	}
	c, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(e.URL, "http")+"/api/v1/live", http.Header{"Authorization": {"Bearer " + tok(e, accounts.RoleOperator)}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	m := readMsg(t, c)
	want := do(t, e, req{method: "GET", path: "/api/v1/devices/summary", token: tok(e, accounts.RoleOperator)}).json(t)
	if m.Type != "snapshot" || fmt.Sprint(m.Devices) != fmt.Sprint(want) || m.Devices["total"] != float64(1) {
		t.Fatalf("snapshot devices %v, want the summary %v", m.Devices, want)
	}
}
