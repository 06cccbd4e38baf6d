package broker

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/shouwang-hub/shouwang/hub/limitlog"
)

// mochiHandler is the slog handler given to mochi. mochi logs every hook,
// listener and connection at info level; only its warnings and errors are
// passed on. Its listener also logs a failed connection (a refused connect
// included, which OnReject already reports) as a warning with an empty
// message: those become debug records. Packets mochi attaches to a record
// are reduced to their type, topic and ID, so payloads and passwords stay
// out of the log. mochi logs some warnings once per packet a client sends
// ("error processing packet"), so each message is passed on at most once
// per refusalLogEvery.
type mochiHandler struct {
	next  slog.Handler
	limit *limitlog.Logger
}

func newMochiHandler(next slog.Handler) slog.Handler {
	return mochiHandler{next: next.WithAttrs([]slog.Attr{slog.String("component", "mochi")}),
		limit: limitlog.New(slog.New(slog.DiscardHandler), refusalLogEvery, time.Now)}
}

func (h mochiHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= slog.LevelWarn && h.next.Enabled(ctx, l)
}

func (h mochiHandler) Handle(ctx context.Context, r slog.Record) error {
	level, msg := r.Level, r.Message
	if msg == "" {
		level, msg = slog.LevelDebug, "client connection ended"
		if !h.next.Enabled(ctx, level) {
			return nil
		}
	}
	if level >= slog.LevelWarn && !h.limit.Allow(msg, refusalLogEvery) {
		return nil
	}
	out := slog.NewRecord(r.Time, level, msg, r.PC)
	r.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(summarise(a))
		return true
	})
	return h.next.Handle(ctx, out)
}

func (h mochiHandler) WithAttrs(as []slog.Attr) slog.Handler {
	for i := range as {
		as[i] = summarise(as[i])
	}
	return mochiHandler{next: h.next.WithAttrs(as), limit: h.limit}
}

func (h mochiHandler) WithGroup(name string) slog.Handler {
	return mochiHandler{next: h.next.WithGroup(name), limit: h.limit}
}

// summarise replaces a packet value by a short description of it.
func summarise(a slog.Attr) slog.Attr {
	var pk packets.Packet
	switch v := a.Value.Any().(type) {
	case packets.Packet:
		pk = v
	case *packets.Packet:
		if v == nil {
			return a
		}
		pk = *v
	default:
		return a
	}
	s := fmt.Sprintf("type=%d id=%d", pk.FixedHeader.Type, pk.PacketID)
	if pk.TopicName != "" {
		s += " topic=" + clip(pk.TopicName)
	}
	return slog.String(a.Key, s)
}
