package main

import (
	"fmt"
	"strconv"
	"sync"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/shouwang-hub/shouwang/devices"
	"github.com/shouwang-hub/shouwang/internal/bench"
)

// brokerWatch times each press at the broker: a subscriber of every
// device's event topic on a connection of its own (QoS 0, nothing kept), so
// a press's latency splits into press → broker → hub received → console.
// It runs in the bench's process; in the loaded runs of issue 15 a
// mosquitto_sub in a process of its own timed the presses alike.
type brokerWatch struct {
	c  paho.Client
	mu sync.Mutex
	at map[string]time.Time // by device, its first event
}

func watchBroker(url string) (*brokerWatch, error) {
	w := &brokerWatch{at: map[string]time.Time{}}
	opts := paho.NewClientOptions().AddBroker(url).SetClientID("bench-watch-" + strconv.FormatInt(time.Now().UnixNano(), 36)).
		SetCleanSession(true).SetAutoReconnect(false)
	w.c = paho.NewClient(opts)
	if tok := w.c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		return nil, fmt.Errorf("broker watch: connect: %v", tok.Error())
	}
	tok := w.c.Subscribe(devices.TopicPrefix+"+/"+string(devices.ChannelEvent), 0, func(_ paho.Client, m paho.Message) {
		now := time.Now()
		id, _, _, err := devices.ParseTopic(m.Topic())
		if err != nil {
			return
		}
		w.mu.Lock()
		if _, ok := w.at[id]; !ok {
			w.at[id] = now
		}
		w.mu.Unlock()
	})
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		w.c.Disconnect(100)
		return nil, fmt.Errorf("broker watch: subscribe: %v", tok.Error())
	}
	return w, nil
}

func (w *brokerWatch) Close() { w.c.Disconnect(100) }

// split returns, for the presses of ids the broker and the hub both saw,
// the time from the press to the broker's delivery and from then to the
// hub receiving it.
func (w *brokerWatch) split(ids []string, log *pressLog, seen *sightings) (toBroker, brokerToHub bench.Latency) {
	var tb, bh []time.Duration
	w.mu.Lock()
	defer w.mu.Unlock()
	seen.mu.Lock()
	defer seen.mu.Unlock()
	for _, id := range ids {
		at, ok := w.at[id]
		toHub, seenHub := seen.toHub[id]
		t0, pressed := log.at(id)
		if !ok || !seenHub || !pressed {
			continue
		}
		tb = append(tb, at.Sub(t0))
		bh = append(bh, toHub-at.Sub(t0))
	}
	return bench.Summarise(tb), bench.Summarise(bh)
}
