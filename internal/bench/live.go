package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

// Change is the part of a live-feed change message the benchmark needs.
type Change struct {
	Seq   int64 `json:"seq"`
	Alert struct {
		ID          int64     `json:"id"`
		Kind        string    `json:"kind"`
		DeviceID    string    `json:"device_id"`
		Version     int64     `json:"version"`
		Occurrences int       `json:"occurrences"`
		OpenedAt    time.Time `json:"opened_at"`
		IncidentID  int64     `json:"incident_id"`
		// Incident is an incident's (decoded fully: incidents are few).
		Incident *struct {
			Alerts  int `json:"alerts"`
			Devices int `json:"devices"`
		} `json:"incident"`
	} `json:"alert"`
}

// Console is one console client of the live feed (GET /api/v1/live with a
// bearer token), as a duty-room screen is.
type Console struct {
	conn    *websocket.Conn
	done    chan struct{}
	err     error       // set by the reader before done is closed
	closing atomic.Bool // Close was called: the end is not an error
	once    sync.Once
}

// DialConsole opens the live feed, reads its snapshot, and then calls
// onChange for every change message with the moment it was read (taken
// before decoding). onChange runs on the console's own goroutine.
func DialConsole(ctx context.Context, base, token string, onChange func(at time.Time, c *Change)) (*Console, error) {
	u := "ws" + strings.TrimPrefix(strings.TrimRight(base, "/"), "http") + "/api/v1/live"
	d := websocket.Dialer{HandshakeTimeout: 30 * time.Second, ReadBufferSize: 16 << 10}
	conn, resp, err := d.DialContext(ctx, u, http.Header{"Authorization": {"Bearer " + token}})
	if err != nil {
		if resp != nil {
			return nil, fmt.Errorf("live feed: %w (HTTP %s)", err, resp.Status)
		}
		return nil, fmt.Errorf("live feed: %w", err)
	}
	conn.SetReadLimit(64 << 20) // a snapshot of many open alerts is large
	var first struct {
		Type string `json:"type"`
	}
	conn.SetReadDeadline(time.Now().Add(60 * time.Second))
	if err := conn.ReadJSON(&first); err != nil || first.Type != "snapshot" {
		conn.Close()
		return nil, fmt.Errorf("live feed: first message %q (%v), want a snapshot", first.Type, err)
	}
	conn.SetReadDeadline(time.Time{})
	c := &Console{conn: conn, done: make(chan struct{})}
	go c.read(onChange)
	return c, nil
}

func (c *Console) read(onChange func(time.Time, *Change)) {
	defer close(c.done)
	// One buffer per console, reused for every message: with hundreds of
	// consoles in this process, a fresh slice per message (ReadMessage)
	// made the benchmark's own garbage collection part of the tail.
	var buf bytes.Buffer
	for {
		buf.Reset()
		_, r, err := c.conn.NextReader()
		if err == nil {
			_, err = buf.ReadFrom(r)
		}
		at := time.Now()
		if err != nil {
			c.err = err
			return
		}
		data := buf.Bytes()
		ch, isChange, ok := parseChange(data)
		if !ok {
			var m struct {
				Type string `json:"type"`
				Change
			}
			if err := json.Unmarshal(data, &m); err != nil {
				c.err = fmt.Errorf("live feed: decode: %w", err)
				return
			}
			ch, isChange = m.Change, m.Type == "change"
		}
		if isChange {
			onChange(at, &ch)
		}
	}
}

// parseChange picks the fields the benchmark needs out of a live-feed
// message without decoding all of it: with hundreds of consoles in this
// one process, full decoding would make the benchmark's own CPU part of the
// latency it measures. It relies on encoding/json writing struct fields in
// order (the alert's own id and kind come before its device's) and on keys
// never appearing unescaped inside strings. ok is false when a field is
// missing; the caller then decodes the message fully.
func parseChange(data []byte) (c Change, isChange, ok bool) {
	if !bytes.HasPrefix(data, []byte(`{"type":"change"`)) {
		return c, false, bytes.HasPrefix(data, []byte(`{"type":"`))
	}
	i := bytes.Index(data, []byte(`"alert":{`))
	if i < 0 {
		return c, true, false
	}
	head, alert := data[:i], data[i:]
	if bytes.Contains(alert, []byte(`"incident":{`)) {
		return c, true, false // an incident: decoded fully
	}
	var okSeq, okID, okKind, okDev, okOcc, okVer, okOpened bool
	var occ int64
	c.Seq, okSeq = jsonInt(head, `"seq":`)
	c.Alert.ID, okID = jsonInt(alert, `"id":`)
	c.Alert.Kind, okKind = jsonString(alert, `"kind":"`)
	c.Alert.DeviceID, okDev = jsonString(alert, `"device_id":"`)
	occ, okOcc = jsonInt(alert, `"occurrences":`)
	c.Alert.Version, okVer = jsonInt(alert, `"version":`)
	var opened string
	if opened, okOpened = jsonString(alert, `"opened_at":"`); okOpened {
		t, err := time.Parse(time.RFC3339Nano, opened)
		c.Alert.OpenedAt, okOpened = t, err == nil
	}
	c.Alert.Occurrences = int(occ)
	c.Alert.IncidentID, _ = jsonInt(alert, `"incident_id":`) // absent: none
	return c, true, okSeq && okID && okKind && okDev && okOcc && okVer && okOpened
}

func jsonInt(b []byte, key string) (int64, bool) {
	i := bytes.Index(b, []byte(key))
	if i < 0 {
		return 0, false
	}
	rest := b[i+len(key):]
	j := bytes.IndexAny(rest, ",}")
	if j < 0 {
		return 0, false
	}
	n, err := strconv.ParseInt(string(rest[:j]), 10, 64)
	return n, err == nil
}

func jsonString(b []byte, key string) (string, bool) {
	i := bytes.Index(b, []byte(key))
	if i < 0 {
		return "", false
	}
	rest := b[i+len(key):]
	j := bytes.IndexByte(rest, '"')
	if j < 0 || bytes.IndexByte(rest[:j], '\\') >= 0 {
		return "", false // escapes: let encoding/json decode it
	}
	return string(rest[:j]), true
}

// Err returns why the feed ended early: nil while it runs or after Close.
func (c *Console) Err() error {
	select {
	case <-c.done:
		if c.closing.Load() || websocket.IsCloseError(c.err, websocket.CloseNormalClosure) {
			return nil
		}
		return c.err
	default:
		return nil
	}
}

// Alive reports whether the feed is still being read.
func (c *Console) Alive() bool {
	select {
	case <-c.done:
		return false
	default:
		return true
	}
}

// Close ends the feed with a close frame and waits for the reader.
func (c *Console) Close() {
	c.once.Do(func() {
		c.closing.Store(true)
		if c.Alive() {
			c.conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
			select {
			case <-c.done:
			case <-time.After(2 * time.Second):
			}
		}
		c.conn.Close()
		<-c.done
	})
}
