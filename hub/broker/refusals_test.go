package broker

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/mochi-mqtt/server/v2/hooks/storage"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/shouwang-hub/shouwang/devices"
	"github.com/shouwang-hub/shouwang/hub/limitlog"
)

// waitReason returns the first rejection with reason, failing the test if
// none comes.
func (r *rejects) waitReason(t *testing.T, reason devices.Reason) rejection {
	t.Helper()
	var got rejection
	eventually(t, "a rejection for "+string(reason), func() bool {
		r.mu.Lock()
		defer r.mu.Unlock()
		for _, x := range r.list {
			if x.reason == reason {
				got = x
				return true
			}
		}
		return false
	})
	return got
}

// TestPacketRefusalsAreCountedWithTheClient: a publish to a wildcard topic
// and a packet over the size limit each cost the device its connection;
// both are reported under their own reason with the device's ID, as is a
// publish to a $-topic, which mochi ignores without a word.
func TestPacketRefusalsAreCountedWithTheClient(t *testing.T) {
	b := startTestBroker(t)
	d1 := device(t, b.Addr(), "d1", "pw1")
	d1.Publish("shouwang/v1/d1/+", 1, false, `{"seq":1}`) // no PUBACK: the connection is closed
	if r := b.rejects.waitReason(t, ReasonWildcardTopic); r.who != "d1" || !strings.Contains(r.detail, "shouwang/v1/d1/+") {
		t.Errorf("wildcard refusal %+v: want device d1 and the topic", r)
	}

	d2 := device(t, b.Addr(), "d2", "pw2")
	d2.Publish(devices.Topic("d2", devices.ChannelEvent), 1, false, bytes.Repeat([]byte("x"), 1<<20))
	if r := b.rejects.waitReason(t, ReasonPacketTooLarge); r.who != "d2" || !strings.Contains(r.detail, "client id d2") {
		t.Errorf("oversized refusal %+v: want device d2", r)
	}

	d3 := device(t, b.Addr(), "d3", "pw3")
	d3.Publish("$SYS/broker/fake", 0, false, "x")
	if r := b.rejects.waitReason(t, devices.ReasonBadTopic); r.who != "d3" {
		t.Errorf("$-topic refusal %+v: want device d3", r)
	}
	if n := b.Stats().PublishesRefused; n != 3 {
		t.Errorf("%d publishes refused, want 3", n)
	}
}

// TestRetainedEventIsDeliveredButNotKept: an event, telemetry or call
// message published retained reaches the hub once, as an ordinary message,
// and is counted; the broker keeps no retained copy to replay at the hub's
// next subscription. A status stays retained, as the protocol says.
func TestRetainedEventIsDeliveredButNotKept(t *testing.T) {
	b := startTestBroker(t)
	in := newInbox()
	hub := hubClient(t, b.Addr(), in, true)
	subscribe(t, hub, hubFilters...)
	d1 := device(t, b.Addr(), "d1", "pw1")
	publish(t, d1, devices.Topic("d1", devices.ChannelEvent), 1, true, `{"seq":1,"type":"sos"}`)
	publish(t, d1, devices.Topic("d1", devices.ChannelTelemetry), 0, true, `{"seq":2}`)
	publish(t, d1, devices.Topic("d1", devices.ChannelStatus), 1, true, `{"state":"online"}`)
	for range 3 {
		if m := in.next(t); m.Retained() {
			t.Errorf("%s delivered with the retain flag to an existing subscription", m.Topic())
		}
	}
	if r := b.rejects.waitReason(t, ReasonRetained); r.who != "d1" {
		t.Errorf("retained refusal %+v: want device d1", r)
	}
	for _, ch := range []devices.Channel{devices.ChannelEvent, devices.ChannelTelemetry} {
		if kept := b.server.Topics.Messages(devices.Topic("d1", ch)); len(kept) != 0 {
			t.Errorf("the broker kept a retained %s: %v", ch, kept)
		}
	}
	if kept := b.server.Topics.Messages(devices.Topic("d1", devices.ChannelStatus)); len(kept) != 1 {
		t.Errorf("retained status: %d kept, want 1", len(kept))
	}
}

// TestStoredRetainedEventsAreDroppedAtStart: retained events a broker from
// before kept in its store are deleted at start, not replayed; statuses
// are restored.
func TestStoredRetainedEventsAreDroppedAtStart(t *testing.T) {
	b := newTestBroker(t, t.TempDir())
	for _, topic := range []string{devices.Topic("d1", devices.ChannelEvent), devices.Topic("d1", devices.ChannelStatus)} {
		b.store.put(bucketRetained, topic, &storage.Message{
			ID: storage.RetainedKey + "_" + topic, T: storage.RetainedKey, TopicName: topic, Payload: []byte(`{}`),
			FixedHeader: packets.FixedHeader{Type: packets.Publish, Qos: 1, Retain: true}, Created: time.Now().Unix(),
		}, true)
	}
	b = restart(t, b)
	if kept := b.server.Topics.Messages(devices.Topic("d1", devices.ChannelEvent)); len(kept) != 0 {
		t.Errorf("a stored retained event was restored: %v", kept)
	}
	if kept := b.server.Topics.Messages(devices.Topic("d1", devices.ChannelStatus)); len(kept) != 1 {
		t.Errorf("retained status: %d restored, want 1", len(kept))
	}
	b = restart(t, b) // the deletion was stored
	if kept := b.server.Topics.Messages(devices.Topic("d1", devices.ChannelEvent)); len(kept) != 0 {
		t.Errorf("the retained event came back after a second restart: %v", kept)
	}
}

// TestStoreFailureIsReportedUntilACommitWorks: readiness reads the store's
// failure; it names the error, lasts until a commit goes through, and is
// logged at a bounded rate.
func TestStoreFailureIsReportedUntilACommitWorks(t *testing.T) {
	var buf bytes.Buffer
	b := newTestBroker(t, t.TempDir())
	s := b.store
	s.limited = limitlog.New(slog.New(slog.NewTextHandler(&buf, nil)), time.Minute, time.Now)
	for range 100 {
		s.noteCommit(errors.New("no space left on device"), 3)
	}
	if f := b.StoreFailure(); !strings.Contains(f, "no space left on device") {
		t.Errorf("StoreFailure() = %q, want the error", f)
	}
	if n := strings.Count(buf.String(), "\n"); n != 1 {
		t.Errorf("%d log lines for 100 failed commits, want 1", n)
	}
	s.noteCommit(nil, 1)
	if f := b.StoreFailure(); f != "" {
		t.Errorf("StoreFailure() = %q after a commit went through, want none", f)
	}
}
