package hub

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"
)

// BacklogConfig configures a BacklogWatch.
type BacklogConfig struct {
	// Stored, if set, reads how many messages the broker holds (the
	// embedded broker's count); otherwise counts arrive through SetStored
	// (mosquitto's $SYS/broker/store/messages/count), or never.
	Stored func() int64
	// Received and Redelivered read the hub's MQTT message counts over
	// its lanes: all messages, and those the broker flagged as resent.
	Received, Redelivered func() int64
	// Duplicates reads how many messages de-duplication dropped.
	Duplicates func() int64
	// Every is how often the watch samples; Window how far back it looks.
	Every, Window time.Duration
	// Threshold is the stored count above which steady growth means the
	// broker is falling behind.
	Threshold int64
	Now       func() time.Time
}

// Defaults of BacklogConfig.
const (
	backlogEvery     = 10 * time.Second
	backlogWindow    = 2 * time.Minute
	backlogThreshold = 10_000
	// A window in which more than redeliveredShare of the messages taken
	// (and at least redeliveredMin) were resent is worth a warning.
	redeliveredShare = 0.1
	redeliveredMin   = 1000
)

// BacklogWatch notices when the broker falls behind in delivering to the
// hub. A broker that acknowledges devices faster than it hands their
// messages on (mosquitto saving a growing database on every change, say)
// holds ever more messages for the hub, and a crash then loses or resends
// them; the hub's own intake stays bounded, so only the broker's numbers
// show it. Where the broker tells (mosquitto's $SYS, the embedded broker),
// the watch follows its count of stored messages: above Threshold and
// higher than Window ago means behind. Everywhere it follows the hub's own
// redelivery (DUP) and duplicate counts: a broker resending many messages
// the hub already had, after a reconnect or a broker restart, is one that
// lost track of them. It warns in the log, in metrics and in /readyz — as
// a warning, not as unreadiness: the hub itself is keeping up, and taking
// it out of service would not help the broker.
type BacklogWatch struct {
	cfg    BacklogConfig
	logger *slog.Logger

	mu       sync.Mutex
	stored   []backlogSample // broker store counts within the window, oldest first
	counts   []countSample   // the hub's counts within the window
	warning  string          // why the broker is behind, or ""
	lastSeen time.Time       // when the last stored count came
	loggedAt time.Time       // when the warning was last logged
}

// backlogLogEvery is how often a spell of falling behind is logged again.
const backlogLogEvery = 5 * time.Minute

type backlogSample struct {
	at time.Time
	n  int64
}

type countSample struct {
	at                            time.Time
	received, redelivered, dupped int64
}

// NewBacklogWatch returns a watch; Run samples.
func NewBacklogWatch(cfg BacklogConfig, logger *slog.Logger) *BacklogWatch {
	if cfg.Every <= 0 {
		cfg.Every = backlogEvery
	}
	if cfg.Window <= 0 {
		cfg.Window = backlogWindow
	}
	if cfg.Threshold <= 0 {
		cfg.Threshold = backlogThreshold
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	zero := func() int64 { return 0 }
	for _, f := range []*func() int64{&cfg.Received, &cfg.Redelivered, &cfg.Duplicates} {
		if *f == nil {
			*f = zero
		}
	}
	return &BacklogWatch{cfg: cfg, logger: logger}
}

// Run samples every cfg.Every until ctx ends.
func (w *BacklogWatch) Run(ctx context.Context) {
	t := time.NewTicker(w.cfg.Every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			w.Sample()
		}
	}
}

// SetStored records the broker's count of stored messages, from outside
// (mosquitto's $SYS topic).
func (w *BacklogWatch) SetStored(n int64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.addStored(n)
}

func (w *BacklogWatch) addStored(n int64) {
	now := w.cfg.Now()
	w.stored = append(w.stored, backlogSample{now, n})
	w.lastSeen = now
	w.stored = trim(w.stored, now.Add(-w.cfg.Window), func(s backlogSample) time.Time { return s.at })
}

// trim drops the samples older than since, keeping one at or before it as
// the window's start.
func trim[S any](ss []S, since time.Time, at func(S) time.Time) []S {
	i := 0
	for i+1 < len(ss) && !at(ss[i+1]).After(since) {
		i++
	}
	return ss[i:]
}

// Sample takes the hub's counts (and the embedded broker's) and decides.
func (w *BacklogWatch) Sample() {
	now := w.cfg.Now()
	c := countSample{at: now, received: w.cfg.Received(), redelivered: w.cfg.Redelivered(), dupped: w.cfg.Duplicates()}
	w.mu.Lock()
	if w.cfg.Stored != nil {
		w.addStored(w.cfg.Stored())
	}
	w.counts = append(w.counts, c)
	w.counts = trim(w.counts, now.Add(-w.cfg.Window), func(s countSample) time.Time { return s.at })
	prev := w.warning
	w.warning = w.judge(now)
	warning := w.warning
	logIt := warning != "" && (prev == "" || now.Sub(w.loggedAt) >= backlogLogEvery)
	if logIt {
		w.loggedAt = now
	}
	w.mu.Unlock()

	switch {
	case logIt:
		w.logger.Warn("the MQTT broker is falling behind", "warning", warning)
	case warning == "" && prev != "":
		w.logger.Info("the MQTT broker is keeping up again", "stored", w.Stored())
	}
}

// judge decides from the samples and says why the broker is behind, or
// returns ""; the caller holds w.mu.
func (w *BacklogWatch) judge(now time.Time) string {
	var why []string
	if n := len(w.stored); n > 0 && now.Sub(w.lastSeen) <= 3*w.cfg.Window {
		first, last := w.stored[0], w.stored[n-1]
		if last.n >= w.cfg.Threshold && last.n > first.n && last.at.Sub(first.at) >= w.cfg.Window/2 {
			why = append(why, fmt.Sprintf("the broker holds %d messages, up %d in %s", last.n, last.n-first.n,
				last.at.Sub(first.at).Round(time.Second)))
		}
	}
	if n := len(w.counts); n > 1 {
		first, last := w.counts[0], w.counts[n-1]
		got, resent, dups := last.received-first.received, last.redelivered-first.redelivered, last.dupped-first.dupped
		if resent >= redeliveredMin && float64(resent) > redeliveredShare*float64(got) {
			why = append(why, fmt.Sprintf("%d of %d messages in %s were resends (DUP), %d of them already stored",
				resent, got, last.at.Sub(first.at).Round(time.Second), dups))
		}
	}
	return strings.Join(why, "; ")
}

// Stored returns the broker's last known count of stored messages, or -1
// when the broker does not tell.
func (w *BacklogWatch) Stored() int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	if n := len(w.stored); n > 0 {
		return w.stored[n-1].n
	}
	return -1
}

// Behind reports whether the broker is behind: its store growing past
// the threshold, or many resends.
func (w *BacklogWatch) Behind() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.warning != ""
}

// Check is the watch's line for /readyz: a warning, or the count.
func (w *BacklogWatch) Check() string {
	w.mu.Lock()
	warning := w.warning
	w.mu.Unlock()
	if warning != "" {
		return "warning: " + warning
	}
	if n := w.Stored(); n >= 0 {
		return fmt.Sprintf("ok; the broker holds %d messages", n)
	}
	return "ok"
}
