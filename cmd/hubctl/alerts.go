package main

import (
	"cmp"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/shouwang-hub/shouwang/alerts"
	"github.com/shouwang-hub/shouwang/console"
)

func (c *cli) alerts(args []string) error {
	if len(args) == 0 {
		return usagef("alerts: missing subcommand (list, get, accept, dispatch, resolve, close, note, stats)")
	}
	sub, args := args[0], args[1:]
	switch sub {
	case "list":
		return c.alertsList(args)
	case "get":
		return c.alertsGet(args)
	case "accept", "dispatch", "resolve", "close", "note":
		return c.alertsAct(alerts.Action(sub), args)
	case "stats":
		return c.alertsStats(args)
	}
	return usagef("alerts: unknown subcommand %q", sub)
}

func alertPath(id string, rest ...string) string {
	return "/api/v1/alerts/" + url.PathEscape(id) + strings.Join(rest, "")
}

func (c *cli) alertsList(args []string) error {
	fs := c.newFlags("alerts list", "alerts list [flags]")
	q := url.Values{}
	for name, help := range map[string]string{
		"state":     "only these states, comma-separated: new, accepted, dispatched, resolved, closed, or open",
		"severity":  "only this severity: critical, major or minor",
		"kind":      "only this kind, such as sos, smoke, gas_high, offline",
		"community": "only alerts from this community",
		"device":    "only alerts of this device",
		"offset":    "skip this many alerts",
		"limit":     "show at most this many alerts",
	} {
		fs.Func(name, help, func(v string) error { q.Set(name, v); return nil })
	}
	tests := fs.Bool("test", false, "show only commissioning tests")
	since := fs.String("since", "", "only alerts opened within this duration, such as 90m, 6h or 7d")
	asJSON := fs.Bool("json", false, "print the server's JSON")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	if *tests {
		q.Set("test", "true")
	}
	if *since != "" {
		back, err := parseSince(*since)
		if err != nil {
			return usagef("alerts list: -since %q: %v", *since, err)
		}
		q.Set("from", c.now().Add(-back).UTC().Format(time.RFC3339))
	}
	var resp struct {
		Alerts []*alerts.Alert `json:"alerts"`
		Total  int             `json:"total"`
	}
	if err := c.call(request{method: http.MethodGet, path: "/api/v1/alerts", query: q, auth: true}, &resp); err != nil {
		return err
	}
	if *asJSON {
		return c.printJSON(resp)
	}
	if resp.Total == 0 {
		fmt.Fprintln(c.stdout, "No alerts.")
		return nil
	}
	var tb table
	tb.add("ID", "SEVERITY", "KIND", "STATE", "DEVICE", "ADDRESS", "RESIDENT", "OPENED", "AGE", "LEVEL", "ASSIGNEE")
	for _, a := range resp.Alerts {
		tb.add(strconv.FormatInt(a.ID, 10), string(a.Severity), string(a.Kind), alertState(a), a.DeviceID,
			dash(a.Device.Location.String()), dash(a.Device.Resident.Name), when(a.OpenedAt),
			age(c.now().Sub(a.OpenedAt)), strconv.Itoa(a.EscalationLevel), dash(a.Assignee))
	}
	if err := tb.print(c.stdout); err != nil {
		return err
	}
	if len(resp.Alerts) < resp.Total {
		offset, _ := strconv.Atoi(q.Get("offset"))
		fmt.Fprintf(c.stdout, "Showing %d-%d of %d alerts; page with -offset and -limit.\n", offset+1, offset+len(resp.Alerts), resp.Total)
	} else {
		fmt.Fprintf(c.stdout, "%d alerts.\n", resp.Total)
	}
	return nil
}

// alertState is an alert's state with what else a responder must see at a
// glance: a test, a device that has since cleared.
func alertState(a *alerts.Alert) string {
	s := string(a.State)
	if a.Test {
		s += " (test)"
	}
	if a.Cleared {
		s += " (cleared)"
	}
	return s
}

// age renders how long ago something was, to two units: 45s, 12m30s, 3h05m,
// 2d4h.
func age(d time.Duration) string {
	d = max(d, 0).Round(time.Second)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	case d < 24*time.Hour:
		return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
	}
	return fmt.Sprintf("%dd%dh", int(d.Hours())/24, int(d.Hours())%24)
}

func (c *cli) alertsGet(args []string) error {
	fs := c.newFlags("alerts get", "alerts get ID [-json]")
	asJSON := fs.Bool("json", false, "print the server's JSON")
	pos, err := parse(fs, args, "ID")
	if err != nil {
		return err
	}
	var resp struct {
		Alert *alerts.Alert `json:"alert"`
	}
	if err := c.call(request{method: http.MethodGet, path: alertPath(pos[0]), auth: true}, &resp); err != nil {
		return err
	}
	if *asJSON {
		return c.printJSON(resp)
	}
	c.printAlert(resp.Alert)
	return nil
}

func (c *cli) printAlert(a *alerts.Alert) {
	tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	row := func(k, v string) {
		if v != "" {
			fmt.Fprintf(tw, "%s:\t%s\n", k, v)
		}
	}
	at := func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return when(t)
	}
	row("Alert", strconv.FormatInt(a.ID, 10))
	row("Kind", fmt.Sprintf("%s, %s, priority %d", a.Kind, a.Severity, a.Priority))
	row("State", alertState(a))
	d := a.Device
	row("Device", strings.TrimSpace(a.DeviceID+" "+parens(string(d.Kind))))
	row("Address", d.Location.String())
	resident := d.Resident.Name
	if d.Resident.LivesAlone {
		resident += " (lives alone)"
	}
	row("Resident", strings.TrimSpace(resident))
	row("Care notes", strings.ReplaceAll(d.Resident.CareNotes, "\n", " / "))
	for i, ct := range d.Contacts {
		label := ""
		if i == 0 {
			label = "Contacts:"
		}
		fmt.Fprintf(tw, "%s\t%s %s %s\n", label, ct.Name, parens(ct.Relation), ct.Phone)
	}
	row("Grid worker", strings.TrimSpace(d.GridWorker.Name+" "+d.GridWorker.Phone))
	row("Opened", fmt.Sprintf("%s (%s ago)", when(a.OpenedAt), age(c.now().Sub(a.OpenedAt))))
	if a.Occurrences > 1 {
		row("Occurrences", fmt.Sprintf("%d, the last at %s", a.Occurrences, when(a.LastOccurrence)))
	}
	if a.Reading != nil {
		row("Reading", strconv.FormatFloat(*a.Reading, 'f', -1, 64))
	}
	if a.Cleared {
		row("Cleared", cmp.Or(at(a.ClearedAt), "yes"))
	}
	if a.EscalationLevel > 0 {
		row("Escalation", fmt.Sprintf("level %d", a.EscalationLevel))
	}
	if a.Assignee != "" {
		row("Accepted", strings.TrimSpace(a.Assignee+", "+at(a.AcceptedAt)))
	}
	if a.DispatchedTo != "" {
		row("Dispatched", strings.TrimSpace(a.DispatchedTo+", "+at(a.DispatchedAt)))
	}
	if a.Outcome != "" {
		row("Resolved", strings.TrimSpace(string(a.Outcome)+", "+at(a.ResolvedAt)))
	}
	row("Closed", at(a.ClosedAt))
	tw.Flush()
	if len(a.Timeline) == 0 {
		return
	}
	fmt.Fprintln(c.stdout, "\nTimeline:")
	var tb table
	tb.add("TIME", "WHO", "WHAT", "NOTE")
	for _, e := range a.Timeline {
		note := e.Note
		for _, k := range slices.Sorted(maps.Keys(e.Data)) {
			note = strings.TrimSpace(note + " " + k + "=" + e.Data[k])
		}
		tb.add(when(e.At), strings.TrimSpace(e.Actor.Name+" "+parens(e.Actor.Role)), e.Action, dash(note))
	}
	tb.print(c.stdout)
}

func parens(s string) string {
	if s == "" {
		return ""
	}
	return "(" + s + ")"
}

// alertsAct takes a person's action on an alert: accept, dispatch, resolve,
// close or note.
func (c *cli) alertsAct(action alerts.Action, args []string) error {
	synopsis := map[alerts.Action]string{
		alerts.ActionAccept:   "alerts accept ID [-note TEXT]",
		alerts.ActionDispatch: "alerts dispatch ID -to WHO [-note TEXT]",
		alerts.ActionResolve:  "alerts resolve ID -outcome genuine|false_alarm|referred|duplicate [-note TEXT]",
		alerts.ActionClose:    "alerts close ID [-note TEXT]",
		alerts.ActionNote:     "alerts note ID -note TEXT",
	}[action]
	fs := c.newFlags("alerts "+string(action), synopsis)
	note := fs.String("note", "", "a note for the alert's timeline")
	var to, outcome *string
	switch action {
	case alerts.ActionDispatch:
		to = fs.String("to", "", "who was sent: a grid worker, 119, 120, the gas company (required)")
	case alerts.ActionResolve:
		outcome = fs.String("outcome", "", "how it ended: genuine, false_alarm, referred or duplicate (required)")
	}
	asJSON := fs.Bool("json", false, "print the server's JSON")
	pos, err := parse(fs, args, "ID")
	if err != nil {
		return err
	}
	body := map[string]string{}
	switch {
	case to != nil && *to == "":
		return usagef("alerts dispatch: -to is required: who was sent (a grid worker, 119, 120, the gas company)")
	case outcome != nil && *outcome == "":
		return usagef("alerts resolve: -outcome is required: genuine, false_alarm, referred or duplicate")
	case action == alerts.ActionNote && *note == "":
		return usagef("alerts note: -note is required")
	case to != nil:
		body["to"] = *to
	case outcome != nil:
		body["outcome"] = *outcome
	}
	if *note != "" {
		body["note"] = *note
	}
	var resp struct {
		Alert *alerts.Alert `json:"alert"`
	}
	rq := request{method: http.MethodPost, path: alertPath(pos[0], "/"+string(action)), body: jsonBody(body), contentType: "application/json", auth: true}
	if err := c.call(rq, &resp); err != nil {
		return err
	}
	if *asJSON {
		return c.printJSON(resp)
	}
	a := resp.Alert
	switch action {
	case alerts.ActionAccept:
		fmt.Fprintf(c.stdout, "Accepted alert %d: %s %s at %s, %s.\n", a.ID, a.Severity, a.Kind, dash(a.Device.Location.String()), dash(a.Device.Resident.Name))
	case alerts.ActionDispatch:
		fmt.Fprintf(c.stdout, "Dispatched alert %d to %s.\n", a.ID, a.DispatchedTo)
	case alerts.ActionResolve:
		fmt.Fprintf(c.stdout, "Resolved alert %d: %s.\n", a.ID, a.Outcome)
	case alerts.ActionClose:
		fmt.Fprintf(c.stdout, "Closed alert %d.\n", a.ID)
	case alerts.ActionNote:
		fmt.Fprintf(c.stdout, "Added a note to alert %d (%s).\n", a.ID, a.State)
	}
	return nil
}

func (c *cli) alertsStats(args []string) error {
	fs := c.newFlags("alerts stats", "alerts stats [-since 24h] [-json]")
	since := fs.String("since", "24h", "the period: a duration such as 6h or 30d (at most 366d)")
	asJSON := fs.Bool("json", false, "print the server's JSON")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	back, err := parseSince(*since)
	if err != nil {
		return usagef("alerts stats: -since %q: %v", *since, err)
	}
	now := c.now()
	q := url.Values{"from": {now.Add(-back).UTC().Format(time.RFC3339)}, "to": {now.UTC().Format(time.RFC3339)}}
	var resp console.StatsResponse
	if err := c.call(request{method: http.MethodGet, path: "/api/v1/alerts/stats", query: q, auth: true}, &resp); err != nil {
		return err
	}
	if *asJSON {
		return c.printJSON(resp)
	}
	tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "Period:\t%s to %s (tests excluded)\n", resp.From.Local().Format("2006-01-02 15:04"), resp.To.Local().Format("2006-01-02 15:04"))
	fmt.Fprintf(tw, "Alerts:\t%d\n", resp.Alerts)
	fmt.Fprintf(tw, "Accepted:\t%d\n", resp.Accepted)
	fmt.Fprintf(tw, "Within 60 s:\t%d%s\n", resp.Within60s, share(resp.ShareWithin60s, resp.TargetWithin60s))
	fmt.Fprintf(tw, "Within 180 s:\t%d%s\n", resp.Within180s, share(resp.ShareWithin180s, resp.TargetWithin180s))
	fmt.Fprintf(tw, "Median to accept:\t%s (of the %d accepted alerts only)\n", secs(resp.MedianAcceptSeconds), resp.Accepted)
	fmt.Fprintf(tw, "Median to dispatch:\t%s (of the %d dispatched alerts only)\n", secs(resp.MedianDispatchSeconds), resp.Dispatched)
	fmt.Fprintf(tw, "Median to resolve:\t%s (of the %d resolved alerts only)\n", secs(resp.MedianResolveSeconds), resp.Resolved)
	target := "- (no alerts)"
	if resp.MeetsTarget != nil {
		target = map[bool]string{true: "met", false: "NOT met"}[*resp.MeetsTarget]
	}
	fmt.Fprintf(tw, "Target:\t%s\n", target)
	return tw.Flush()
}

func share(v *float64, target float64) string {
	if v == nil {
		return ""
	}
	return fmt.Sprintf(" (%.1f %%; target %.1f %%)", *v*100, target*100)
}

func secs(v *float64) string {
	if v == nil {
		return "-"
	}
	return time.Duration(*v * float64(time.Second)).Round(time.Second).String()
}
