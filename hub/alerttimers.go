package hub

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/shouwang-hub/shouwang/alerts"
)

// runTimers fires the store's alert timers as they fall due. Timers live in
// the store, so one that fell due while the hub was down fires at start,
// and each fires in the same transaction that removes or re-arms it: a
// crash cannot fire one twice.
func (a *Alerting) runTimers(ctx context.Context) {
	for {
		due, ok, err := a.cfg.Store.NextTimer(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			a.logger.Error("read next alert timer", "err", err)
			ok, due = true, a.cfg.Now().Add(time.Second)
		}
		if !sleepUntil(ctx, a.cfg.Now(), due, ok, time.Minute, a.timersWake) {
			return
		}
		a.fireDue(ctx)
	}
}

func (a *Alerting) fireDue(ctx context.Context) {
	now := a.cfg.Now()
	timers, err := a.cfg.Store.DueTimers(ctx, now, 200)
	if err != nil {
		if ctx.Err() == nil {
			a.logger.Error("read due alert timers", "err", err)
		}
		return
	}
	for _, t := range timers {
		var res alerts.Result
		err := a.cfg.Store.InTx(ctx, func(tx alerts.Tx) error {
			al, err := a.svc.FireTimer(ctx, tx, t, now)
			if al != nil {
				res.Changed = append(res.Changed, al)
			}
			return err
		})
		if err != nil {
			if ctx.Err() == nil {
				a.logger.Error("fire alert timer", "alert", t.AlertID, "timer", t.Kind, "err", err)
			}
			continue
		}
		a.committed(res)
	}
}

// runNotifier delivers level-2 notifications to the webhook, each attempt
// and its result recorded on the alert's timeline in one transaction.
func (a *Alerting) runNotifier(ctx context.Context) {
	client := &http.Client{Timeout: 10 * time.Second}
	for {
		due, ok, err := a.cfg.Store.NextNotification(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			a.logger.Error("read next notification", "err", err)
			ok, due = true, a.cfg.Now().Add(time.Second)
		}
		if !sleepUntil(ctx, a.cfg.Now(), due, ok, time.Minute, a.notifyWake) {
			return
		}
		ns, err := a.cfg.Store.DueNotifications(ctx, a.cfg.Now(), 50)
		if err != nil {
			if ctx.Err() == nil {
				a.logger.Error("read due notifications", "err", err)
			}
			continue
		}
		for _, n := range ns {
			status, sendErr := a.deliver(ctx, client, n)
			if ctx.Err() != nil {
				return // shutting down: the attempt is not recorded and runs again at start
			}
			var res alerts.Result
			err := a.cfg.Store.InTx(ctx, func(tx alerts.Tx) error {
				al, err := a.svc.NotificationResult(ctx, tx, n, status, sendErr, a.cfg.Now())
				if al != nil {
					res.Changed = append(res.Changed, al)
				}
				return err
			})
			if err != nil {
				a.logger.Error("record notification attempt", "alert", n.AlertID, "err", err)
				continue
			}
			if sendErr != nil || status/100 != 2 {
				a.cfg.Metrics.notifyFailures.Inc()
			}
			a.committed(res)
		}
	}
}

func (a *Alerting) deliver(ctx context.Context, client *http.Client, n *alerts.Notification) (int, error) {
	if a.cfg.WebhookURL == "" {
		return 0, fmt.Errorf("no webhook configured")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.cfg.WebhookURL, bytes.NewReader(n.Payload))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "shouwang-hub")
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	return resp.StatusCode, nil
}
