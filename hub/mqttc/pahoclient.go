package mqttc

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/shouwang-hub/shouwang/hub/limitlog"
)

// pahoClient is the part of paho's client the Client uses, so unit tests can
// swap in a fake.
type pahoClient interface {
	Connect() paho.Token
	Disconnect(quiesce uint)
	IsConnectionOpen() bool
	Publish(topic string, qos byte, retained bool, payload any) paho.Token
	SubscribeMultiple(filters map[string]byte, callback paho.MessageHandler) paho.Token
	Unsubscribe(topics ...string) paho.Token
}

func newPahoClient(o *paho.ClientOptions) pahoClient { return paho.NewClient(o) }

// paho logs through package-level globals (paho.ERROR, CRITICAL, WARN and
// DEBUG), shared by every paho client in the process. They are pointed, once,
// at adapters that forward to the logger of the most recently created Client;
// DEBUG stays silent (it logs every packet).
//
// paho repeats some lines for every reconnect and every message it cannot
// place, so each distinct line is passed on at most once per pahoLogEvery.
var (
	pahoLogOnce  sync.Once
	pahoLog      atomic.Pointer[slog.Logger]
	pahoLogLimit = limitlog.New(slog.New(slog.DiscardHandler), pahoLogEvery, time.Now)
)

const pahoLogEvery = 10 * time.Second

func setPahoLogger(l *slog.Logger) {
	pahoLog.Store(l.With("component", "paho"))
	pahoLogOnce.Do(func() {
		// paho's ERROR lines are mostly connection failures it recovers from
		// by itself (the Client logs the loss as a warning), so they are
		// warnings here; its WARN lines are routine.
		paho.CRITICAL = pahoLogger{slog.LevelError}
		paho.ERROR = pahoLogger{slog.LevelWarn}
		paho.WARN = pahoLogger{slog.LevelInfo}
	})
}

// pahoLogger adapts paho's Println/Printf logger interface to slog.
type pahoLogger struct{ level slog.Level }

func (p pahoLogger) Println(v ...any) {
	p.log(strings.TrimSuffix(fmt.Sprintln(v...), "\n"))
}

func (p pahoLogger) Printf(format string, v ...any) {
	p.log(fmt.Sprintf(format, v...))
}

func (p pahoLogger) log(msg string) {
	if l := pahoLog.Load(); l != nil && pahoLogLimit.Allow(msg, pahoLogEvery) {
		l.Log(context.Background(), p.level, msg)
	}
}
