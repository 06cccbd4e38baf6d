package console

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"

	"github.com/gorilla/websocket"

	"github.com/shouwang-hub/shouwang/alerts"
)

// liveHub fans the console's one subscription to the LiveSource out to the
// live feed's clients. As in gorilla's chat example, one goroutine (run)
// owns the client set: it registers and unregisters clients and hands each
// change to every client's buffered send channel, dropping a client whose
// buffer is full rather than waiting for it.
type liveHub struct {
	src     LiveSource
	summary func(context.Context) (any, error) // the console's devices summary
	opt     LiveOptions
	origins []string
	log     *slog.Logger

	upgrader websocket.Upgrader

	ctx    context.Context // cancelled by close
	cancel context.CancelFunc

	register   chan liveRegistration
	unregister chan *liveClient
	recheck    chan struct{} // capacity 1: every client re-checks its session now
	ownerDone  chan struct{} // closed when run returns

	mu      sync.Mutex
	started bool // run has been started (at the first client)
	closed  bool
	pumps   sync.WaitGroup // read and write pumps; Add only under mu, while !closed

	count atomic.Int64 // clients in the set, for LiveClients
}

type liveRegistration struct {
	c    *liveClient
	head chan int64 // the owner answers with the last seq before c joined
}

// liveOut is one item of a client's send channel: a change, or a request
// to send a fresh snapshot after the console lost changes.
type liveOut struct {
	seq    int64
	msg    *websocket.PreparedMessage
	alert  *alerts.Alert // the change's alert, for a client with a scope to filter
	resync *liveResync
}

// liveClose is why the owner ended a client.
type liveClose struct {
	code int
	text string
}

// newLiveHub returns the live feed's hub, or nil if cfg has no LiveSource.
func newLiveHub(cfg Config, logger *slog.Logger) (*liveHub, error) {
	if cfg.Live == nil {
		return nil, nil
	}
	opt, err := cfg.LiveOptions.withDefaults()
	if err != nil {
		return nil, err
	}
	origins, err := parseOrigins(cfg.AllowedOrigins)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &liveHub{
		src: cfg.Live, opt: opt, origins: origins, log: logger.With("part", "live"),
		upgrader: websocket.Upgrader{
			ReadBufferSize:  1024,
			WriteBufferSize: 4096,
			WriteBufferPool: &sync.Pool{}, // idle clients hold no write buffer
			// The Origin was checked before the upgrade, to answer in JSON.
			CheckOrigin: func(*http.Request) bool { return true },
		},
		ctx: ctx, cancel: cancel,
		register:   make(chan liveRegistration),
		unregister: make(chan *liveClient),
		recheck:    make(chan struct{}, 1),
		ownerDone:  make(chan struct{}),
	}, nil
}

// open reports whether the feed still takes clients.
func (h *liveHub) open() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return false
	}
	select {
	case <-h.ownerDone:
		return false
	default:
		return true
	}
}

// begin starts the owner at the first client and counts a new client's two
// pumps, unless the feed is closed.
func (h *liveHub) begin() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return false
	}
	if !h.started {
		h.started = true
		sub, head := h.src.Subscribe(h.opt.SourceBuffer)
		go h.run(sub, head)
	}
	select {
	case <-h.ownerDone:
		return false
	default:
	}
	h.pumps.Add(2)
	return true
}

// liveRequest is what the handler learnt about a client before upgrading.
type liveRequest struct {
	user string
	// scope, when set, is a grid worker's: the client is sent only the
	// alerts of their grids and those sent to them.
	scope   *alerts.Scope
	since   int64
	resume  bool
	recheck func(context.Context) error
}

// recheckSessions has every connected client check its session now rather
// than at its next ping: called after an account's sessions were ended, so
// the feed stops at once for the people they belonged to.
func (h *liveHub) recheckSessions() {
	select {
	case h.recheck <- struct{}{}:
	default: // one is pending: it covers this change too
	}
}

// serve upgrades the connection, joins the client to the set and starts
// its pumps.
func (h *liveHub) serve(w http.ResponseWriter, r *http.Request, req liveRequest) {
	if !h.begin() {
		writeJSON(w, http.StatusServiceUnavailable, errorBody{Error: "the live feed is shutting down", Code: "unavailable"})
		return
	}
	conn, err := h.upgrader.Upgrade(w, r, nil)
	if err != nil { // the upgrader has answered
		h.pumps.Add(-2)
		return
	}
	c := newLiveClient(h, conn, req)
	reply := make(chan int64, 1)
	select {
	case h.register <- liveRegistration{c: c, head: reply}:
	case <-h.ownerDone:
		c.writeClose(websocket.CloseGoingAway, "server shutting down")
		conn.Close()
		h.pumps.Add(-2)
		return
	}
	head := <-reply
	h.log.Debug("live client connected", "user", req.user, "remote", r.RemoteAddr, "since", req.since, "resume", req.resume, "head", head)
	go c.writePump(head)
	go c.readPump()
}

// close stops the owner, which sends every client a close frame, and waits
// for every pump to end.
func (h *liveHub) close() {
	h.mu.Lock()
	h.closed = true
	started := h.started
	h.mu.Unlock()
	h.cancel()
	if started {
		<-h.ownerDone
	}
	h.pumps.Wait()
}

// run owns the client set until close, or until the source ends.
func (h *liveHub) run(sub LiveSubscription, head int64) {
	defer close(h.ownerDone)
	clients := make(map[*liveClient]struct{})
	end := func(code int, text string) {
		sub.Close()
		for c := range clients {
			c.stop(code, text)
		}
		clear(clients)
		h.count.Store(0)
	}
	changes := sub.Changes()
	for {
		select {
		case <-h.ctx.Done():
			end(websocket.CloseGoingAway, "server shutting down")
			return

		case reg := <-h.register:
			clients[reg.c] = struct{}{}
			h.count.Store(int64(len(clients)))
			reg.head <- head

		case c := <-h.unregister:
			if _, ok := clients[c]; ok {
				delete(clients, c)
				h.count.Store(int64(len(clients)))
				c.stop(websocket.CloseNormalClosure, "")
			}

		case <-h.recheck:
			for c := range clients {
				c.recheckSoon()
			}

		case ch, ok := <-changes:
			if !ok {
				if !sub.Lagged() {
					h.log.Warn("the alert change feed ended; closing the live feed", "clients", len(clients))
					// Refuse newcomers before telling the clients, so one
					// that reconnects at once is answered 503, not
					// upgraded into a feed that is ending.
					h.mu.Lock()
					h.closed = true
					h.mu.Unlock()
					end(websocket.CloseGoingAway, "live feed stopped")
					return
				}
				// The source dropped us for falling behind: changes are
				// lost, so every client needs a snapshot taken after the
				// new subscription starts.
				sub, head = h.src.Subscribe(h.opt.SourceBuffer)
				changes = sub.Changes()
				h.log.Warn("the live feed fell behind the alert change feed; resynchronising every client", "clients", len(clients), "seq", head)
				h.fanOut(clients, liveOut{seq: head, resync: &liveResync{hub: h, seq: head}})
				continue
			}
			if ch.Seq <= head || ch.Alert == nil {
				continue
			}
			head = ch.Seq
			msg, err := prepare(changeMessage{Type: "change", Seq: ch.Seq, Alert: withoutTimeline(ch.Alert)})
			if err != nil {
				h.log.Error("encode alert change", "seq", ch.Seq, "err", err)
				continue
			}
			h.fanOut(clients, liveOut{seq: ch.Seq, msg: msg, alert: ch.Alert})
		}
	}
}

// fanOut queues out for every client, dropping those whose buffer is full.
func (h *liveHub) fanOut(clients map[*liveClient]struct{}, out liveOut) {
	for c := range clients {
		select {
		case c.send <- out:
		default:
			delete(clients, c)
			c.stop(closeLagging, "lagging")
			h.log.Warn("live client dropped for falling behind", "user", c.req.user, "buffer", cap(c.send))
		}
	}
	h.count.Store(int64(len(clients)))
}

// liveResync is one snapshot shared by every client resynchronised after
// the console's subscription lagged. The first client to need it takes it.
type liveResync struct {
	hub  *liveHub
	seq  int64
	once sync.Once
	open []*alerts.Alert
	devs any
	msg  *websocket.PreparedMessage
	err  error
}

// get returns the snapshot, with its message labelled seq.
func (r *liveResync) get() ([]*alerts.Alert, any, *websocket.PreparedMessage, error) {
	r.once.Do(func() {
		r.open, r.devs, r.err = r.hub.snapshot(r.hub.ctx)
		if r.err == nil {
			r.msg, r.err = prepare(snapshotMessage{Type: "snapshot", Seq: r.seq, Alerts: stripTimelines(r.open), Devices: r.devs})
		}
	})
	return r.open, r.devs, r.msg, r.err
}

// snapshot reads the source's snapshot, with the console's own devices
// summary if the source has none.
func (h *liveHub) snapshot(ctx context.Context) ([]*alerts.Alert, any, error) {
	open, devs, err := h.src.Snapshot(ctx)
	if err != nil {
		return nil, nil, err
	}
	if devs == nil && h.summary != nil {
		if devs, err = h.summary(ctx); err != nil {
			return nil, nil, fmt.Errorf("devices summary: %w", err)
		}
	}
	return open, devs, nil
}

// stripTimelines returns open without timelines, never nil (the message
// carries an empty list, not null).
func stripTimelines(open []*alerts.Alert) []*alerts.Alert {
	out := make([]*alerts.Alert, 0, len(open))
	for _, a := range open {
		if a != nil {
			out = append(out, withoutTimeline(a))
		}
	}
	return out
}

// encode marshals a message as the rest of the API does (no HTML escaping).
func encode(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// prepare encodes a message once for every client it goes to.
func prepare(v any) (*websocket.PreparedMessage, error) {
	b, err := encode(v)
	if err != nil {
		return nil, err
	}
	return websocket.NewPreparedMessage(websocket.TextMessage, b)
}
