package sqlstore_test

import (
	"testing"
	"time"

	"github.com/shouwang-hub/shouwang/alerts"
	"github.com/shouwang-hub/shouwang/hub/sqlstore"
)

// TestNotificationClaimPassesOn: a notification claimed under a lease is
// out of the others' sight while the lease holds — and no longer than
// that: once the claimer's lease is gone (lapsed or given up), another
// instance claims it at once, not after the hold; the next claimable time
// the others sleep until is the lease's end, not the hold's. A claimer
// that hands its claims back makes them due again at their old time. On
// PostgreSQL, where several instances share a store, and on SQLite (one
// store for both names), where a hub alone claims too.
func TestNotificationClaimPassesOn(t *testing.T) {
	t.Run("postgres", func(t *testing.T) { a, b := twoInstances(t); claimPassesOn(t, a, b) })
	t.Run("sqlite", func(t *testing.T) { s := openSQLite(t); claimPassesOn(t, s, s) })
}

func claimPassesOn(t *testing.T, a, b *sqlstore.Store) {
	ctx := t.Context()
	now := time.Now().Truncate(time.Millisecond)
	due := now.Add(-time.Second)
	var note alerts.Notification
	err := a.InTx(ctx, func(tx alerts.Tx) error {
		al := &alerts.Alert{Kind: alerts.KindSOS, Severity: alerts.SeverityCritical, State: alerts.StateNew,
			DeviceID: "d", OpenedAt: now, LastOccurrence: now, UpdatedAt: now, Occurrences: 1}
		if err := tx.CreateAlert(ctx, al); err != nil {
			return err
		}
		note = alerts.Notification{AlertID: al.ID, Level: 2, NextAttempt: due, Payload: []byte("{}")}
		return tx.EnqueueNotification(ctx, &note)
	})
	if err != nil {
		t.Fatal(err)
	}
	lease, ok, err := a.AcquireLease(ctx, "notify/a", "a", 10*time.Second)
	if err != nil || !ok {
		t.Fatalf("lease: %v %v", ok, err)
	}
	const hold = 2 * time.Minute
	claimA := sqlstore.NotificationClaim{Holder: "a", Lease: lease.Name, Epoch: lease.Epoch}
	if ns, err := a.ClaimNotifications(ctx, now, hold, 10, claimA); err != nil || len(ns) != 1 || !ns[0].NextAttempt.Equal(due) {
		t.Fatalf("a's claim: %v %v", ns, err)
	}
	claimB := sqlstore.NotificationClaim{Holder: "b", Lease: "notify/b", Epoch: 1}
	if ns, err := b.ClaimNotifications(ctx, now, hold, 10, claimB); err != nil || len(ns) != 0 {
		t.Fatalf("b claimed a's live claim: %v %v", ns, err)
	}
	next, ok, err := b.NextClaimable(ctx, now)
	if err != nil || !ok || next.After(now.Add(11*time.Second)) || next.Before(now.Add(5*time.Second)) {
		t.Errorf("next claimable while a's lease holds: %v %v %v, want about its end (10 s), not the hold", next, ok, err)
	}

	// a dies: its lease ends (given up here, as a lapse does by the clock).
	if err := a.ReleaseLease(ctx, lease); err != nil {
		t.Fatal(err)
	}
	if next, ok, err := b.NextClaimable(ctx, now); err != nil || !ok || next.After(now) {
		t.Errorf("next claimable after a's lease ended: %v %v %v, want now", next, ok, err)
	}
	ns, err := b.ClaimNotifications(ctx, now, hold, 10, claimB)
	if err != nil || len(ns) != 1 || ns[0].ID != note.ID || !ns[0].NextAttempt.Equal(due) {
		t.Fatalf("b's claim after a's lease ended: %v %v", ns, err)
	}

	// b stops: it hands the claim back, due at its old time.
	if n, err := b.HandBackNotifications(ctx, "a"); err != nil || n != 0 {
		t.Errorf("hand back a's claims (taken over by b): %d %v", n, err)
	}
	if n, err := b.HandBackNotifications(ctx, "b"); err != nil || n != 1 {
		t.Errorf("hand back b's claims: %d %v", n, err)
	}
	if next, ok, err := a.NextClaimable(ctx, now); err != nil || !ok || !next.Equal(due) {
		t.Errorf("next claimable after the hand-back: %v %v %v, want %v", next, ok, err, due)
	}
	if ns, err := a.ClaimNotifications(ctx, now, hold, 10, sqlstore.NotificationClaim{Holder: "a"}); err != nil || len(ns) != 1 {
		t.Fatalf("a's claim after the hand-back: %v %v", ns, err)
	}
	// Claimed without a lease (a hub alone): only the hold ends it.
	if ns, err := b.ClaimNotifications(ctx, now.Add(hold/2), hold, 10, claimB); err != nil || len(ns) != 0 {
		t.Errorf("b claimed a claim without a lease before its hold: %v %v", ns, err)
	}
	if ns, err := b.ClaimNotifications(ctx, now.Add(hold), hold, 10, claimB); err != nil || len(ns) != 1 {
		t.Errorf("b's claim after the hold: %v %v", ns, err)
	}
}
