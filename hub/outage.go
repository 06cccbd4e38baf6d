package hub

import (
	"context"
	"time"

	"github.com/shouwang-hub/shouwang/alerts"
)

// offline applies supervision's verdict on the devices past their
// reporting time or grace (silent): grouped by where they are counted
// together (alerts.OfflineScope: a building, a bridge), each group with the
// devices of its scope whose wills are still within their grace (pending),
// since those went offline with them. The alerts service decides whether a
// group is one outage or an offline alert each (alerts.Service.Offline);
// the pending devices an outage took are reported silent here, as the due
// ones are, so their return is noticed. A group that fails is tried again
// device by device without grouping, so a failure costs no device its
// alert.
func (s *supervision) offline(ctx context.Context, silent, pending []int32, now time.Time) {
	groups := map[string]*alerts.OfflineGroup{}
	var order []*alerts.OfflineGroup
	slots := map[string]int32{}
	add := func(slot int32, due bool) {
		d, ok := s.index.at(slot)
		if !ok {
			return // removed since it was watched
		}
		full, err := s.index.Full(ctx, d.ID)
		if err != nil || full == nil {
			if err != nil {
				s.failed(ctx, d.ID, err)
			}
			return
		}
		scope := alerts.OfflineScope(full)
		g := groups[scope]
		if !due && (g == nil || scope == "") {
			return // its scope has nothing due: it waits out its own grace
		}
		if g == nil || scope == "" {
			g = &alerts.OfflineGroup{Scope: scope, Gateway: full.Gateway}
			order = append(order, g)
			if scope != "" {
				groups[scope] = g
			}
		}
		since, will := s.sv.Since(slot)
		s.mu.Lock()
		g.GatewayDown = g.GatewayDown || full.Gateway != "" && s.gwDown[full.Gateway]
		s.mu.Unlock()
		g.Members = append(g.Members, alerts.OfflineMember{Device: full, Since: since, LastSeen: full.Health.LastSeen, Will: will, Due: due})
		slots[full.ID] = slot
	}
	for _, slot := range silent {
		add(slot, true)
	}
	for _, slot := range pending {
		add(slot, false)
	}
	due := 0
	for _, g := range order {
		for _, m := range g.Members {
			if m.Due {
				due++
			}
		}
	}
	s.metrics.countSilent(due)
	for _, g := range order {
		var taken []string
		err := s.update(ctx, func(tx *AlertTx) error {
			var err error
			taken, err = tx.Offline(ctx, *g, now)
			return err
		})
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			s.logger.Error("supervision: offline verdict for a group failed; trying its devices one by one", "scope", g.Scope, "devices", len(g.Members), "err", err)
			s.offlineEach(ctx, g, now)
			continue
		}
		s.mu.Lock()
		for _, id := range taken {
			s.sv.MarkSilent(slots[id])
		}
		s.mu.Unlock()
	}
}

// offlineEach gives each due member of g its own offline verdict, without
// grouping.
func (s *supervision) offlineEach(ctx context.Context, g *alerts.OfflineGroup, now time.Time) {
	for _, m := range g.Members {
		if !m.Due {
			continue
		}
		one := alerts.OfflineGroup{Members: []alerts.OfflineMember{m}}
		err := s.update(ctx, func(tx *AlertTx) error {
			_, err := tx.Offline(ctx, one, now)
			return err
		})
		if err != nil {
			s.failed(ctx, m.Device.ID, err)
		}
	}
}
