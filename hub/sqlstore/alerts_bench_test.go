package sqlstore

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/shouwang-hub/shouwang/alerts"
)

// BenchmarkCreateAlertTx is the store's share of opening an alert: one
// durable transaction creating the alert (and its change on the feed), an
// "opened" timeline entry and two escalation timers.
func BenchmarkCreateAlertTx(b *testing.B) {
	s, err := Open(filepath.Join(b.TempDir(), "hub.db"), nil)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	for b.Loop() {
		a := newAlert("sos-1", "c1", alerts.KindSOS, alerts.SeverityCritical, t0)
		err := s.InTx(ctx, func(tx alerts.Tx) error {
			if err := tx.CreateAlert(ctx, a); err != nil {
				return err
			}
			if err := tx.AddTimeline(ctx, a.ID, alerts.TimelineEntry{At: t0, Actor: alerts.System, Action: alerts.TimelineOpened,
				Data: map[string]string{"seq": "12"}}); err != nil {
				return err
			}
			if err := tx.SetTimer(ctx, alerts.Timer{AlertID: a.ID, Kind: alerts.TimerEscalate1, Due: t0.Add(30 * time.Second)}); err != nil {
				return err
			}
			return tx.SetTimer(ctx, alerts.Timer{AlertID: a.ID, Kind: alerts.TimerEscalate2, Due: t0.Add(120 * time.Second)})
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}
