package main

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/shouwang-hub/shouwang/alerts"
	"github.com/shouwang-hub/shouwang/devices"
	"github.com/shouwang-hub/shouwang/internal/testenv"
)

// liveMessage is a live-feed frame as the test reads it.
type liveMessage struct {
	Type  string
	Seq   int64
	Alert *alerts.Alert
}

// TestLiveFeedResumes: while presses (the ingest committer) and operators'
// accepts (HTTP handlers, concurrently) commit alert changes, a console
// reads the live feed, hangs up every few changes and comes back with
// ?since=: across the reconnects it sees every change once, in order,
// numbered without a gap, up to the store's last; on SQLite and on
// PostgreSQL.
func TestLiveFeedResumes(t *testing.T) {
	influx := testenv.Influx(t)
	eachStore(t, func(t *testing.T, db string) {
		m := startHub(t, hubOptions{Influx: influx, DB: db})
		base := "http://" + m.HTTPAddr()
		admin := login(t, base)
		const n = 20
		ds := make([]*devices.Device, n)
		for i := range ds {
			ds[i] = &devices.Device{ID: fmt.Sprintf("sos-%04d", i+1), Kind: devices.KindSOSButton,
				Location: devices.Location{Community: "阳光社区", Household: fmt.Sprintf("1-1-%03d", i+1)}}
		}
		s := connectDevices(t, "tcp://"+m.BrokerAddr(), register(t, base, ds))
		tokens := operators(t, m, base, 3)

		// The reader joins before the writers start: a snapshot, then changes.
		c, first := dialFeed(t, base, admin, -1)
		if first.Type != "snapshot" {
			t.Fatalf("first message %+v, want a snapshot", first)
		}
		last := first.Seq

		var wg sync.WaitGroup
		stop := make(chan struct{})
		wg.Go(func() {
			for _, d := range ds {
				if _, err := s.Press(d.ID); err != nil {
					t.Error(err)
					return
				}
			}
		})
		for _, tok := range tokens {
			wg.Go(func() {
				tick := time.NewTicker(20 * time.Millisecond) // pace the polling, not a wait for anything
				defer tick.Stop()
				for {
					select {
					case <-stop:
						return
					case <-tick.C:
					}
					var list alertList
					apiCall(t, "GET", base+"/api/v1/alerts?state=new", tok, nil, &list)
					for _, a := range list.Alerts {
						// Several operators race for each: one wins, the rest get 409.
						code, body := apiCall(t, "POST", fmt.Sprintf("%s/api/v1/alerts/%d/accept", base, a.ID), tok, map[string]string{"note": "我来"}, nil)
						if code != http.StatusOK && code != http.StatusConflict {
							t.Errorf("accept %d: %d %s", a.ID, code, body)
						}
					}
				}
			})
		}
		accepted := map[int64]bool{}
		read, reconnects := 0, 0
		deadline := time.Now().Add(time.Minute)
		for len(accepted) < n {
			if time.Now().After(deadline) {
				t.Fatalf("after a minute: %d of %d alerts seen accepted, last change %d", len(accepted), n, last)
			}
			var msg liveMessage
			c.SetReadDeadline(time.Now().Add(20 * time.Second))
			if err := c.ReadJSON(&msg); err != nil {
				t.Fatalf("read the live feed after change %d: %v", last, err)
			}
			if msg.Type != "change" {
				t.Fatalf("after change %d: got a %q, want changes replayed", last, msg.Type)
			}
			if msg.Seq != last+1 {
				t.Fatalf("after change %d the feed sent %d: a change was skipped or reordered", last, msg.Seq)
			}
			last = msg.Seq
			if msg.Alert.State == alerts.StateAccepted {
				accepted[msg.Alert.ID] = true
			}
			if read++; read%7 == 0 {
				// Hang up mid-stream and resume where we were.
				c.Close()
				reconnects++
				c, _ = dialFeed(t, base, admin, last)
			}
		}
		close(stop)
		wg.Wait()
		c.Close()
		// Nothing was committed that the reader did not see.
		if final, err := m.store.LastChangeSeq(context.Background()); err != nil || final != last {
			// Accepts still in flight when the reader stopped may add more;
			// those are beyond what it waited for, never behind it.
			if err != nil || final < last {
				t.Fatalf("store's last change %d (%v), the reader's %d", final, err, last)
			}
			c, _ := dialFeed(t, base, admin, last)
			for last < final {
				var msg liveMessage
				c.SetReadDeadline(time.Now().Add(20 * time.Second))
				if err := c.ReadJSON(&msg); err != nil || msg.Seq != last+1 {
					t.Fatalf("the rest after %d: %+v, %v", last, msg, err)
				}
				last = msg.Seq
			}
			c.Close()
		}
		t.Logf("%d changes read across %d reconnects", last-first.Seq, reconnects)
	})
}

// dialFeed opens the live feed with a bearer token, resuming after since
// (no ?since= when negative), and returns the first message when not
// resuming.
func dialFeed(t *testing.T, base, token string, since int64) (*websocket.Conn, liveMessage) {
	t.Helper()
	u := "ws" + strings.TrimPrefix(base, "http") + "/api/v1/live"
	if since >= 0 {
		u += fmt.Sprintf("?since=%d", since)
	}
	d := websocket.Dialer{HandshakeTimeout: 10 * time.Second}
	c, _, err := d.Dial(u, http.Header{"Authorization": {"Bearer " + token}})
	if err != nil {
		t.Fatalf("dial the live feed: %v", err)
	}
	var first liveMessage
	if since < 0 {
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		if err := c.ReadJSON(&first); err != nil {
			t.Fatalf("read the live feed: %v", err)
		}
	}
	return c, first
}
