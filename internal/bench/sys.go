package bench

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
)

// mosquitto's $SYS topics the soak follows (published every sys_interval).
const (
	SysStoreCount = "$SYS/broker/store/messages/count" // messages held: queued for clients, in flight, retained
	SysStoreBytes = "$SYS/broker/store/messages/bytes"
	SysHeap       = "$SYS/broker/heap/current" // bytes mosquitto allocated
	SysDropped    = "$SYS/broker/publish/messages/dropped"
)

// SysWatch keeps the latest values of a few of mosquitto's $SYS topics.
type SysWatch struct {
	c    paho.Client
	mu   sync.Mutex
	vals map[string]int64
	at   map[string]time.Time
}

// WatchSys subscribes to the $SYS topics above on the broker at url.
func WatchSys(ctx context.Context, url string) (*SysWatch, error) {
	w := &SysWatch{vals: map[string]int64{}, at: map[string]time.Time{}}
	opts := paho.NewClientOptions().AddBroker(url).SetClientID("bench-sys-watch-" + strconv.FormatInt(time.Now().UnixNano(), 36)).
		SetCleanSession(true).SetAutoReconnect(true).SetConnectRetry(true)
	w.c = paho.NewClient(opts)
	if tok := w.c.Connect(); !waitToken(ctx, tok) || tok.Error() != nil {
		return nil, fmt.Errorf("broker $SYS: connect: %v", tok.Error())
	}
	filters := map[string]byte{SysStoreCount: 0, SysStoreBytes: 0, SysHeap: 0, SysDropped: 0}
	tok := w.c.SubscribeMultiple(filters, func(_ paho.Client, m paho.Message) {
		n, err := strconv.ParseInt(strings.TrimSpace(string(m.Payload())), 10, 64)
		if err != nil {
			return
		}
		w.mu.Lock()
		w.vals[m.Topic()], w.at[m.Topic()] = n, time.Now()
		w.mu.Unlock()
	})
	if !waitToken(ctx, tok) || tok.Error() != nil {
		w.c.Disconnect(0)
		return nil, fmt.Errorf("broker $SYS: subscribe: %v", tok.Error())
	}
	return w, nil
}

// Get returns a topic's latest value, and whether one came.
func (w *SysWatch) Get(topic string) (int64, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	v, ok := w.vals[topic]
	return v, ok
}

// Close disconnects.
func (w *SysWatch) Close() { w.c.Disconnect(100) }

func waitToken(ctx context.Context, tok paho.Token) bool {
	select {
	case <-tok.Done():
		return true
	case <-ctx.Done():
		return false
	case <-time.After(30 * time.Second):
		return false
	}
}
