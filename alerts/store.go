package alerts

import (
	"context"
	"time"
)

// Tx is one store transaction as the Service sees it. Everything the
// Service does for one message, action or timer happens in one Tx, and the
// caller commits it before acknowledging the message or answering the
// request. Errors are *shouwang.Error with ENOTFOUND or ECONFLICT where a
// caller can act on them.
type Tx interface {
	// OpenAlerts returns the device's open alerts (new, accepted,
	// dispatched), without timelines.
	OpenAlerts(ctx context.Context, deviceID string) ([]*Alert, error)
	// FindAlert returns one alert with its timeline.
	FindAlert(ctx context.Context, id int64) (*Alert, error)
	// LatestAlert returns the device's most recently opened alert of a kind
	// in any state, without its timeline; ENOTFOUND if it never had one.
	LatestAlert(ctx context.Context, deviceID string, kind Kind) (*Alert, error)
	// CreateAlert inserts a (Version 1) and sets its ID, then records a
	// change on the feed.
	//
	// The feed carries one change per alert per transaction, the alert as
	// it stands at the commit (changes.go): an alert written again in the
	// same transaction replaces its change there, keeping its place.
	CreateAlert(ctx context.Context, a *Alert) error
	// UpdateAlert writes every mutable field of a, refusing with ECONFLICT
	// if the stored version is not a.Version-1, and records a change.
	// Callers increment a.Version first. An alert already written in this
	// transaction keeps the version it was written at there (a.Version is
	// set back to it): Version rises once per transaction, with the one
	// change the feed carries.
	UpdateAlert(ctx context.Context, a *Alert) error
	// AddTimeline appends an entry to an alert's timeline.
	AddTimeline(ctx context.Context, alertID int64, e TimelineEntry) error
	// SetTimer creates or moves the alert's timer of t.Kind.
	SetTimer(ctx context.Context, t Timer) error
	// DeleteTimers removes the alert's timers of the given kinds (all if
	// none are given).
	DeleteTimers(ctx context.Context, alertID int64, kinds ...TimerKind) error
	// EnqueueNotification stores a notification to deliver; sets n.ID.
	EnqueueNotification(ctx context.Context, n *Notification) error
	// UpdateNotification records an attempt (Attempts, NextAttempt).
	UpdateNotification(ctx context.Context, n *Notification) error
	// DeleteNotification removes a delivered or abandoned notification.
	DeleteNotification(ctx context.Context, id int64) error
	// AddPhoto stores a photo's metadata and sets p.ID.
	AddPhoto(ctx context.Context, p *Photo) error
	// RecordTrigger notes that device message (deviceID, seq, ts) was
	// applied to alerts, and reports false if it already was: a redelivered
	// telemetry message must not count twice.
	RecordTrigger(ctx context.Context, deviceID string, seq uint64, tsMillis int64) (bool, error)

	IncidentTx // incident.go
	CheckinTx  // checkin.go
}

// Store is where alerts live.
type Store interface {
	// InTx runs fn in one transaction, committing if it returns nil.
	InTx(ctx context.Context, fn func(Tx) error) error
	// FindAlert returns one alert with its timeline.
	FindAlert(ctx context.Context, id int64) (*Alert, error)
	// ListAlerts returns matching alerts (without timelines), most urgent
	// first (open before closed, then severity, then oldest), and the total
	// that match before Offset and Limit.
	ListAlerts(ctx context.Context, f Filter) ([]*Alert, int, error)
	// OpenAlertsAll returns every open alert (for the hub's in-memory view
	// at start), without timelines.
	OpenAlertsAll(ctx context.Context) ([]*Alert, error)
	// DueTimers returns timers due at or before now, earliest first.
	DueTimers(ctx context.Context, now time.Time, limit int) ([]Timer, error)
	// NextTimer returns the earliest pending timer's due time.
	NextTimer(ctx context.Context) (due time.Time, ok bool, err error)
	// DueNotifications returns notifications whose NextAttempt is at or
	// before now.
	DueNotifications(ctx context.Context, now time.Time, limit int) ([]*Notification, error)
	// NextNotification returns the earliest NextAttempt.
	NextNotification(ctx context.Context) (due time.Time, ok bool, err error)
	// ChangesSince returns feed entries with Seq > seq in order, at most
	// limit, and the lowest Seq still kept (older ones are pruned).
	ChangesSince(ctx context.Context, seq int64, limit int) (changes []Change, oldest int64, err error)
	// LastChangeSeq returns the highest feed sequence number (0 if none).
	LastChangeSeq(ctx context.Context) (int64, error)
	// AnswerStats computes the answer-time figures over alerts opened in
	// [from, to), tests excluded.
	AnswerStats(ctx context.Context, from, to time.Time) (AnswerStats, error)
	// PeriodAlerts returns every alert opened in [from, to), tests
	// excluded, without timelines, by ID: what ComputeFigures reads.
	PeriodAlerts(ctx context.Context, from, to time.Time) ([]*Alert, error)
	// FindPhoto returns one photo of an alert; ENOTFOUND if the alert has
	// no photo of that ID.
	FindPhoto(ctx context.Context, alertID, photoID int64) (*Photo, error)
}
