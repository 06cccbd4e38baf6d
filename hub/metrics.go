package hub

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"

	"github.com/shouwang-hub/shouwang/alerts"
	"github.com/shouwang-hub/shouwang/devices"
)

// Metrics holds the hub's Prometheus metrics in a registry of its own, so
// tests can build as many hubs as they like in one process.
type Metrics struct {
	Registry *prometheus.Registry

	received    *prometheus.CounterVec
	receivedBy  map[devices.Channel]prometheus.Counter // received's children, resolved once
	stored      *prometheus.CounterVec
	duplicates  *prometheus.CounterVec
	rejected    *prometheus.CounterVec
	tsFlagged   *prometheus.CounterVec
	seqRestarts prometheus.Counter
	seqLate     prometheus.Counter
	vendorLate  prometheus.Counter // vendor states applied after a newer one: conditions dropped
	ignored     prometheus.Counter
	commitTime  *prometheus.HistogramVec
	commitSize  *prometheus.HistogramVec
	commitErrs  *prometheus.CounterVec

	alertsOpened   *prometheus.CounterVec
	timeTo         *prometheus.HistogramVec
	acksSent       prometheus.Counter
	ackDropped     prometheus.Counter
	notifyFailures prometheus.Counter
	escalations    *prometheus.CounterVec
	silent         prometheus.Counter

	callsStarted prometheus.Counter
	callsRefused *prometheus.CounterVec
	callsRelease *prometheus.CounterVec
	callWait     prometheus.Histogram
}

// NewMetrics registers the hub's metrics and the Go runtime's.
func NewMetrics() *Metrics {
	r := prometheus.NewRegistry()
	m := &Metrics{
		Registry: r,
		received: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shouwang_ingest_received_total", Help: "Valid device messages received, by channel.",
		}, []string{"channel"}),
		stored: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shouwang_ingest_stored_total", Help: "Device messages durably stored, by channel.",
		}, []string{"channel"}),
		duplicates: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shouwang_ingest_duplicates_total", Help: "Redelivered or repeated messages dropped by (device, seq) de-duplication, by channel.",
		}, []string{"channel"}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shouwang_ingest_rejected_total", Help: "Device messages and connections rejected, by reason.",
		}, []string{"reason"}),
		tsFlagged: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shouwang_ingest_ts_flagged_total", Help: "Messages whose device timestamp was implausible and replaced by the receive time, by direction.",
		}, []string{"flag"}),
		seqRestarts: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "shouwang_ingest_seq_restarts_total", Help: "Times a device's sequence counter went back with a newer timestamp (device reset).",
		}),
		seqLate: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "shouwang_ingest_seq_late_total", Help: "Telemetry older than the de-duplication window, kept unchecked (InfluxDB collapses a repeat by its timestamp).",
		}),
		vendorLate: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "shouwang_ingest_vendor_late_states_total",
			Help: "Vendor messages stating a condition that arrived after a newer state of the device was applied: their readings and presses are kept, their conditions dropped as older.",
		}),
		ignored: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "shouwang_ingest_ignored_total", Help: "Messages on device topics ingest does not handle (call signalling, downlink).",
		}),
		commitTime: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "shouwang_ingest_commit_seconds", Help: "Time to make one batch durable, by path.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
		}, []string{"path"}),
		commitSize: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "shouwang_ingest_commit_batch_size", Help: "Messages per durable commit, by path.",
			Buckets: prometheus.ExponentialBuckets(1, 4, 7),
		}, []string{"path"}),
		commitErrs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shouwang_ingest_commit_errors_total", Help: "Failed durable commits (retried), by path.",
		}, []string{"path"}),
	}
	m.alertsOpened = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "shouwang_alerts_opened_total", Help: "Alerts opened, by kind and severity (commissioning tests excluded).",
	}, []string{"kind", "severity"})
	m.timeTo = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "shouwang_alert_time_to_seconds",
		Help:    "Time from an alert opening to its acceptance, dispatch and resolution, by step and severity (tests excluded).",
		Buckets: []float64{5, 10, 20, 30, 45, 60, 90, 120, 180, 300, 600, 1800, 3600, 7200},
	}, []string{"step", "severity"})
	m.acksSent = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "shouwang_device_acks_sent_total", Help: "Acknowledgements and notices published to devices' cmd topics.",
	})
	m.ackDropped = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "shouwang_device_acks_dropped_total", Help: "Device acknowledgements dropped because the publish queue was full.",
	})
	m.notifyFailures = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "shouwang_alert_notify_failures_total", Help: "Failed webhook attempts for escalated alerts (retried with back-off).",
	})
	m.escalations = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "shouwang_alert_escalations_total", Help: "Alerts escalated because nobody accepted them in time, by level reached and severity (tests excluded).",
	}, []string{"level", "severity"})
	m.silent = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "shouwang_supervision_silent_total", Help: "Times a supervised device was found silent past its reporting time.",
	})
	m.callsStarted = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "shouwang_calls_started_total", Help: "Voice calls offered by devices and accepted for relay.",
	})
	m.callsRefused = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "shouwang_calls_refused_total", Help: "Call signalling refused, by reason.",
	}, []string{"reason"})
	m.callsRelease = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "shouwang_calls_released_total", Help: "Answers released before their audio connected (the call rang again), by reason.",
	}, []string{"reason"})
	m.callWait = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "shouwang_call_wait_seconds", Help: "How long a call rang before an operator answered.",
		Buckets: []float64{2, 5, 10, 20, 30, 45, 60, 90, 120, 180, 300},
	})
	for _, level := range []string{"1", "2"} { // present from the start, so an alert rule sees the first one
		for _, sev := range []alerts.Severity{alerts.SeverityCritical, alerts.SeverityMajor, alerts.SeverityMinor} {
			m.escalations.WithLabelValues(level, string(sev))
		}
	}
	r.MustRegister(m.alertsOpened, m.timeTo, m.acksSent, m.ackDropped, m.notifyFailures, m.escalations, m.silent,
		m.callsStarted, m.callsRefused, m.callsRelease, m.callWait)
	r.MustRegister(m.received, m.stored, m.duplicates, m.rejected, m.tsFlagged, m.seqRestarts, m.seqLate,
		m.vendorLate, m.ignored, m.commitTime, m.commitSize, m.commitErrs,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	for _, r := range devices.Reasons {
		m.rejected.WithLabelValues(string(r))
	}
	m.receivedBy = make(map[devices.Channel]prometheus.Counter)
	for _, ch := range []devices.Channel{devices.ChannelEvent, devices.ChannelTelemetry, devices.ChannelStatus} {
		m.receivedBy[ch] = m.received.WithLabelValues(string(ch))
		m.stored.WithLabelValues(string(ch))
	}
	return m
}

// countReceived counts a valid message; for every message, so without
// WithLabelValues' hashing of the label.
func (m *Metrics) countReceived(ch devices.Channel) {
	if c, ok := m.receivedBy[ch]; ok {
		c.Inc()
		return
	}
	m.received.WithLabelValues(string(ch)).Inc()
}

// AddReasons makes the rejection counter's series for reasons beyond
// devices.Reasons (the embedded broker's), so they start at zero.
func (m *Metrics) AddReasons(reasons ...devices.Reason) {
	for _, r := range reasons {
		m.rejected.WithLabelValues(string(r))
	}
}

// Duplicates returns how many messages de-duplication dropped, over every
// channel.
func (m *Metrics) Duplicates() int64 {
	ch := make(chan prometheus.Metric, 8)
	go func() { m.duplicates.Collect(ch); close(ch) }()
	var sum float64
	for pm := range ch {
		var d dto.Metric
		if pm.Write(&d) == nil {
			sum += d.GetCounter().GetValue()
		}
	}
	return int64(sum)
}

// Reject counts a rejection found outside ingest (the broker's refusals).
func (m *Metrics) Reject(reason devices.Reason) { m.rejected.WithLabelValues(string(reason)).Inc() }

// Handler serves the registry in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{})
}

// GaugeFunc registers a gauge whose value is read at scrape time.
func (m *Metrics) GaugeFunc(name, help string, f func() float64) {
	m.Registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, f))
}

// CounterFunc registers a counter whose value is read at scrape time.
func (m *Metrics) CounterFunc(name, help string, f func() float64) {
	m.Registry.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, f))
}

// LabeledGaugeFunc is GaugeFunc for one series of a family with constant
// labels (register one per label value).
func (m *Metrics) LabeledGaugeFunc(name, help string, labels map[string]string, f func() float64) {
	m.Registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help, ConstLabels: labels}, f))
}

// LabeledCounterFunc is CounterFunc for one series of a family with
// constant labels.
func (m *Metrics) LabeledCounterFunc(name, help string, labels map[string]string, f func() float64) {
	m.Registry.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help, ConstLabels: labels}, f))
}

func (m *Metrics) observeCommit(path string) func(int, time.Duration, error) {
	t, s, e := m.commitTime.WithLabelValues(path), m.commitSize.WithLabelValues(path), m.commitErrs.WithLabelValues(path)
	return func(size int, took time.Duration, err error) {
		if err != nil {
			e.Inc()
			return
		}
		t.Observe(took.Seconds())
		s.Observe(float64(size))
	}
}

// observeAlert counts an alert the moment it opens.
func (m *Metrics) observeAlert(a *alerts.Alert) {
	if a.Version == 1 && !a.Test {
		m.alertsOpened.WithLabelValues(string(a.Kind), string(a.Severity)).Inc()
	}
}

// observeEscalation counts an alert that a fired escalation timer raised:
// nobody accepted it within that level's time.
func (m *Metrics) observeEscalation(kind alerts.TimerKind, a *alerts.Alert) {
	level := map[alerts.TimerKind]int{alerts.TimerEscalate1: 1, alerts.TimerEscalate2: 2}[kind]
	if level == 0 || a.Test || a.State != alerts.StateNew || a.EscalationLevel != level {
		return
	}
	m.escalations.WithLabelValues(strconv.Itoa(level), string(a.Severity)).Inc()
}

// observeTransition records how long the step took from the alert opening.
func (m *Metrics) observeTransition(action alerts.Action, a *alerts.Alert) {
	if a.Test {
		return
	}
	var at time.Time
	switch action {
	case alerts.ActionAccept:
		at = a.AcceptedAt
	case alerts.ActionDispatch:
		at = a.DispatchedAt
	case alerts.ActionResolve:
		at = a.ResolvedAt
	default:
		return
	}
	if !at.IsZero() {
		m.timeTo.WithLabelValues(string(action), string(a.Severity)).Observe(at.Sub(a.OpenedAt).Seconds())
	}
}

// The counters below are counted through methods, so the parts of the hub
// that count never reach into Metrics' fields.

func (m *Metrics) countIgnored()                   { m.ignored.Inc() }
func (m *Metrics) countRejected(r devices.Reason)  { m.rejected.WithLabelValues(string(r)).Inc() }
func (m *Metrics) countTSFlag(f devices.TSFlag)    { m.tsFlagged.WithLabelValues(string(f)).Inc() }
func (m *Metrics) countReceivedVendor()            { m.received.WithLabelValues("vendor").Inc() }
func (m *Metrics) countVendorLate(n int)           { m.vendorLate.Add(float64(n)) }
func (m *Metrics) countAckSent()                   { m.acksSent.Inc() }
func (m *Metrics) countAckDropped()                { m.ackDropped.Inc() }
func (m *Metrics) countNotifyFailure()             { m.notifyFailures.Inc() }
func (m *Metrics) countSilent(n int)               { m.silent.Add(float64(n)) }
func (m *Metrics) countCallStarted()               { m.callsStarted.Inc() }
func (m *Metrics) countCallRefused(reason string)  { m.callsRefused.WithLabelValues(reason).Inc() }
func (m *Metrics) countCallReleased(reason string) { m.callsRelease.WithLabelValues(reason).Inc() }
func (m *Metrics) observeCallWait(d time.Duration) { m.callWait.Observe(d.Seconds()) }
func (m *Metrics) countSeqRestartsLate(r, l int) {
	m.seqRestarts.Add(float64(r))
	m.seqLate.Add(float64(l))
}

// countStored counts messages of a channel durably stored.
func (m *Metrics) countStored(ch devices.Channel, n int) {
	m.stored.WithLabelValues(string(ch)).Add(float64(n))
}

// countDuplicates counts messages of a channel de-duplication dropped.
func (m *Metrics) countDuplicates(ch devices.Channel, n int) {
	m.duplicates.WithLabelValues(string(ch)).Add(float64(n))
}
