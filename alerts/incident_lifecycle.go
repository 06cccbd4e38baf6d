package alerts

import (
	"fmt"
	"slices"
	"strconv"
)

// cascades are the actions an incident's linked alerts follow. A note
// stays on the incident.
var cascades = []Action{ActionAccept, ActionDispatch, ActionResolve, ActionClose}

// cascade applies an action taken on incident inc to each linked alert
// whose state allows it, as the same person: accepting the incident
// accepts them (their devices are told help is coming), dispatching
// dispatches them, resolving resolves them with the same outcome, closing
// closes them. An alert that already moved on (resolved on its own) is
// left as it is. Linked alerts are not reminded on their own: the incident
// is.
func (s *Service) cascade(o *op, inc *Alert, req TransitionRequest) error {
	if inc.Incident == nil || !slices.Contains(cascades, req.Action) {
		return nil
	}
	linked, err := o.tx.LinkedAlerts(o.ctx, inc.ID)
	if err != nil {
		return fmt.Errorf("incident %d: linked alerts: %w", inc.ID, err)
	}
	for _, l := range linked {
		l = o.canon(l, false)
		if !slices.Contains(from[req.Action], l.State) {
			continue
		}
		o.touch(l)
		sub := req
		sub.AlertID, sub.Note = l.ID, ""
		if err := s.apply(o, l, sub, nil); err != nil {
			return fmt.Errorf("incident %d: alert %d: %w", inc.ID, l.ID, err)
		}
		if err := o.tx.DeleteTimers(o.ctx, l.ID, TimerReminder); err != nil {
			return fmt.Errorf("incident %d: alert %d: %w", inc.ID, l.ID, err)
		}
		data := map[string]string{"incident": strconv.FormatInt(inc.ID, 10), "action": string(req.Action)}
		if err := o.log(l, System, TimelineViaIncident, "", data); err != nil {
			return err
		}
	}
	return nil
}
