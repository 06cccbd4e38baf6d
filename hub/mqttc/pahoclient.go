package mqttc

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
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
// DEBUG), shared by every paho client in the process. They are pointed at
// adapters that forward to the logger of the most recently started Client
// that has not stopped, and drop the line when none runs. A Client's logger
// is retired when Stop returns and is never written to afterwards, although
// paho's goroutines may outlive Stop (paho's Disconnect returns after its
// quiesce time whether or not its own goroutine has finished): a logger
// belongs to its owner (a test's, say) no longer than the Client does. DEBUG
// stays silent (it logs every packet).
//
// paho repeats some lines for every reconnect and every message it cannot
// place, so each distinct line is passed on at most once per pahoLogEvery.
var (
	pahoLogMu    sync.RWMutex   // held for reading while a line is logged
	pahoLoggers  []pahoLogOwner // of running Clients, oldest first
	pahoLogLimit = limitlog.New(slog.New(slog.DiscardHandler), pahoLogEvery, time.Now)
)

const pahoLogEvery = 10 * time.Second

// The adapters are set before any paho goroutine can run: paho's clients
// read the globals unlocked, those of other packages in the process too.
func init() {
	// paho's ERROR lines are mostly connection failures it recovers from by
	// itself (the Client logs the loss as a warning), so they are warnings
	// here; its WARN lines are routine.
	paho.CRITICAL = pahoLogger{slog.LevelError}
	paho.ERROR = pahoLogger{slog.LevelWarn}
	paho.WARN = pahoLogger{slog.LevelInfo}
}

// pahoLogOwner is a running Client's logger for paho's lines.
type pahoLogOwner struct {
	owner any
	log   *slog.Logger
}

// startPahoLog makes l (the logger of owner, a Client being started) the
// one paho's lines go to.
func startPahoLog(owner any, l *slog.Logger) {
	pahoLogMu.Lock()
	pahoLoggers = append(pahoLoggers, pahoLogOwner{owner, l.With("component", "paho")})
	pahoLogMu.Unlock()
}

// stopPahoLog retires owner's logger: once it returns, no paho line is
// written to it.
func stopPahoLog(owner any) {
	pahoLogMu.Lock()
	pahoLoggers = slices.DeleteFunc(pahoLoggers, func(o pahoLogOwner) bool { return o.owner == owner })
	pahoLogMu.Unlock()
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
	pahoLogMu.RLock()
	defer pahoLogMu.RUnlock()
	if n := len(pahoLoggers); n > 0 && pahoLogLimit.Allow(msg, pahoLogEvery) {
		pahoLoggers[n-1].log.Log(context.Background(), p.level, msg)
	}
}
