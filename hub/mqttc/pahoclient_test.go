package mqttc

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
)

// lineLog keeps the lines of paho (records carrying component=paho) and
// counts those that come after it was retired, as a test's log is when the
// test ends (writing to it then panics).
type lineLog struct {
	mu      sync.Mutex
	lines   []string
	retired bool
	late    int
}

// handler is the slog handler of a lineLog; paho marks records of paho.
type lineHandler struct {
	log  *lineLog
	paho bool
}

func (h lineHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h lineHandler) WithGroup(string) slog.Handler            { return h }
func (h lineHandler) WithAttrs(as []slog.Attr) slog.Handler {
	for _, a := range as {
		h.paho = h.paho || (a.Key == "component" && a.Value.String() == "paho")
	}
	return h
}

func (h lineHandler) Handle(_ context.Context, r slog.Record) error {
	if !h.paho {
		return nil
	}
	l := h.log
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.retired {
		l.late++
	}
	l.lines = append(l.lines, r.Message)
	return nil
}

func (l *lineLog) retire() {
	l.mu.Lock()
	l.retired = true
	l.mu.Unlock()
}

func (l *lineLog) got() (lines []string, late int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.lines), l.late
}

// lineRun makes paho's lines in a test unique across runs (-count), so
// the limit of one line per pahoLogEvery does not hold them back.
var lineRun atomic.Int64

// TestPahoLogEndsWithStop: paho's lines (package globals, shared by every
// paho client) go to the logger of the newest running Client, and never to
// the logger of a Client that has stopped, even while paho's goroutines go
// on logging ("Log in goroutine after TestAlertsEndToEnd has completed"
// was a paho line written to a finished test's log after the hub stopped).
func TestPahoLogEndsWithStop(t *testing.T) {
	start := func(h *lineLog) *Client {
		cfg := Config{URL: "tcp://127.0.0.1:1883", ClientID: "hub", Subscriptions: []string{"a/+"},
			Handler: func(m *Message) { m.Ack() }, MaxInFlight: 1, ConnectTimeout: time.Second}
		log := slog.New(lineHandler{log: h})
		if _, err := New(cfg, log); err != nil { // validates
			t.Fatal(err)
		}
		f := &fakePaho{}
		c := newClient(cfg, log, func(o *paho.ClientOptions) pahoClient { f.opts = o; return f })
		t.Cleanup(c.Stop)
		if err := c.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		return c
	}
	run := lineRun.Add(1)
	toNewer, toOlder := fmt.Sprint("to the newer ", run), fmt.Sprint("to the older ", run)
	older, newer := &lineLog{}, &lineLog{}
	a := start(older)
	b := start(newer)
	paho.ERROR.Println(toNewer)
	b.Stop()
	newer.retire()
	paho.ERROR.Println(toOlder)

	// A paho goroutine logs on while the older Client stops, and after.
	var logged atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			paho.ERROR.Println(fmt.Sprint("line ", run, " ", i))
			logged.Add(1)
		}
	})
	a.Stop()
	older.retire()
	after := logged.Load()
	waitFor(t, "paho to log on after Stop", 10*time.Second, func() bool { return logged.Load() > after+100 })
	close(stop)
	wg.Wait()

	if lines, late := newer.got(); late > 0 || !slices.Equal(lines, []string{toNewer}) {
		t.Errorf("the newer Client's log got %d lines (first %q), %d of them after its Stop; want only %q",
			len(lines), lines[:min(3, len(lines))], late, toNewer)
	}
	if lines, late := older.got(); late > 0 || len(lines) == 0 || lines[0] != toOlder {
		t.Errorf("the older Client's log got %d lines (first %q), %d of them after its Stop; want %q first and none after",
			len(lines), lines[:min(3, len(lines))], late, toOlder)
	}
}
