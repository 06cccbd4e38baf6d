package main

import (
	"strconv"
	"strings"

	"github.com/shouwang-hub/shouwang/hub"
	"github.com/shouwang-hub/shouwang/hub/mqttc"
)

// sysStoreCount is where mosquitto publishes how many messages its store
// holds (every sys_interval, 10 s by default): the hub subscribes to it on
// its publisher connection, best effort (the hub's account needs read
// access to it on an external broker; docs/operations.md).
const sysStoreCount = "$SYS/broker/store/messages/count"

// newBacklogWatch watches the broker's backlog: the embedded broker's
// stored messages, or mosquitto's $SYS count (onSys), and everywhere the
// lanes' redeliveries and ingest's duplicates.
func (m *Main) newBacklogWatch() *hub.BacklogWatch {
	sum := func(f func(mqttc.Stats) int64) func() int64 {
		return func() int64 {
			var n int64
			for _, l := range m.lanes {
				n += f(l.client.Stats())
			}
			return n
		}
	}
	cfg := hub.BacklogConfig{
		Received:    sum(func(s mqttc.Stats) int64 { return s.Received }),
		Redelivered: sum(func(s mqttc.Stats) int64 { return s.Redelivered }),
		Duplicates:  m.metrics.Duplicates,
	}
	if m.broker != nil {
		cfg.Stored = func() int64 { return m.broker.Stats().Stored }
	}
	return hub.NewBacklogWatch(cfg, m.Logger.With("part", "backlog"))
}

// onSys takes the broker's $SYS messages.
func (m *Main) onSys(msg *mqttc.Message) {
	msg.Ack()
	if msg.Topic != sysStoreCount {
		return
	}
	if n, err := strconv.ParseInt(strings.TrimSpace(string(msg.Payload)), 10, 64); err == nil && n >= 0 {
		m.backlog.SetStored(n)
	}
}
