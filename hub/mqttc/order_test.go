package mqttc

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// deviceKey is an OrderKey: "v/<device>/…" are a vendor device's messages,
// the rest are not ordered.
func deviceKey(topic string) string {
	if rest, ok := strings.CutPrefix(topic, "v/"); ok {
		dev, _, _ := strings.Cut(rest, "/")
		return "v/" + dev
	}
	return ""
}

// publishInOrder hands the messages to the client one after the other, as
// a connection's reader does.
func (f *fakePaho) publishInOrder(topics []string) {
	for _, topic := range topics {
		f.opts.DefaultPublishHandler(nil, &fakeMessage{topic: topic, acks: &f.acks})
	}
}

// TestOrderedMessagesAreHandledInArrivalOrder: the messages of one key
// reach the handler in the order they came off the connection, however
// long each handler call takes — as the hub's vendor path needs (a
// Zigbee2MQTT self-test state overtaken by the clear that followed it was
// taken as an older state and lost). With the handlers running freely, as
// before OrderKey, the handler's jitter reorders them.
func TestOrderedMessagesAreHandledInArrivalOrder(t *testing.T) {
	const perKey = 100
	var (
		mu   sync.Mutex
		seen = map[string][]int{} // key → message numbers as handled
	)
	f := &fakePaho{}
	c := newFake(t, Config{MaxInFlight: 8, OrderKey: deviceKey, Subscriptions: []string{"#"}, Handler: func(m *Message) {
		defer m.Ack()
		k := deviceKey(m.Topic)
		if k == "" {
			return
		}
		// A handler's time varies (decoding, the scheduler of a loaded
		// machine): here up to 200 µs.
		time.Sleep(time.Duration(rand.IntN(200)) * time.Microsecond)
		var n int
		fmt.Sscanf(m.Topic[strings.LastIndexByte(m.Topic, '/')+1:], "%d", &n)
		mu.Lock()
		seen[k] = append(seen[k], n)
		mu.Unlock()
	}}, f)
	if err := c.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	var topics []string
	for i := range perKey {
		for _, d := range []string{"zb-1", "shg-1", "zb-2"} {
			topics = append(topics, fmt.Sprintf("v/%s/state/%d", d, i))
		}
		topics = append(topics, fmt.Sprintf("n/native/%d", i))
	}
	f.publishInOrder(topics)
	waitFor(t, "every message acknowledged", 30*time.Second, func() bool { return f.acks.Load() == int64(len(topics)) })
	mu.Lock()
	defer mu.Unlock()
	for _, k := range []string{"v/zb-1", "v/shg-1", "v/zb-2"} {
		if got := seen[k]; len(got) != perKey || !slices.IsSorted(got) {
			t.Errorf("%s handled in the order %v, want 0…%d in order", k, got, perKey-1)
		}
	}
}

// TestOrderedMessageWaitingDoesNotHoldOthers: while a vendor message's
// handler call is slow, the messages without a key go on being handled
// on the other handlers.
func TestOrderedMessageWaitingDoesNotHoldOthers(t *testing.T) {
	release := make(chan struct{})
	var others atomic.Int64
	f := &fakePaho{}
	c := newFake(t, Config{MaxInFlight: 4, OrderKey: deviceKey, Subscriptions: []string{"#"}, Handler: func(m *Message) {
		defer m.Ack()
		if deviceKey(m.Topic) != "" {
			<-release
			return
		}
		others.Add(1)
	}}, f)
	if err := c.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	topics := []string{"v/zb-1/state/0", "v/zb-1/state/1"}
	for i := range 20 {
		topics = append(topics, fmt.Sprint("n/native/", i))
	}
	f.publishInOrder(topics)
	waitFor(t, "the 20 unordered messages handled while the ordered one waits", 10*time.Second, func() bool { return others.Load() == 20 })
	if n := f.acks.Load(); n != 20 {
		t.Errorf("%d acknowledged while the vendor message's handler runs, want the 20 others", n)
	}
	close(release)
	waitFor(t, "every message acknowledged", 10*time.Second, func() bool { return f.acks.Load() == int64(len(topics)) })
}
