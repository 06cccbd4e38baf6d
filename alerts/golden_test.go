package alerts_test

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shouwang-hub/shouwang"
	"github.com/shouwang-hub/shouwang/alerts"
	"github.com/shouwang-hub/shouwang/devices"
)

var update = flag.Bool("update", false, "rewrite the expected output of the golden rule cases")

// separator splits a golden case's input from its expected output.
const separator = "----------"

// TestRuleCases runs every case in testdata/rules through the Service on
// the in-memory store. A case file is:
//
//	# what the case shows (comments start with #)
//	device <id> <kind> [alone] [family] [community=Oak_Road]
//	                                      one or more devices (family: the daughter is told of an SOS)
//	rules <JSON>                          optional, read with LoadRules
//	webhook <url>                         optional: the street's duty leader told on channel "webhook"
//	route <party> <channel> [to]          optional: a party's recipient (to "household": the alert's own numbers)
//	at <duration> <input>                 the inputs, in time order
//	----------
//	the expected output
//
// Inputs, at t0 + duration:
//
//	event <dev> <type> [lel=V] [test] [seq=N]   a device event (seq counts up per device by default)
//	telemetry <dev> <field>=<value>...          a telemetry message
//	status <dev> online|offline [battery=V]     a status message (offline is the last will)
//	duplicate <dev> <seq>                       the event with that seq redelivered
//	accept|dispatch|take|arrive|resolve|followup|close|note <alert> [by=NAME] [role=ROLE] [to=WHO] [worker=USER]
//	       [outcome=O] [note=TEXT] [rating=N] [method=M result=R evaluation=E] [grids=COMMUNITY/GRID,…]
//	                                            a person's action (grids= is a grid worker's scope)
//	timers                                      fire every timer due
//	silent <dev>                                supervision: silent since its last message
//	returned <dev>                              supervision: heard from again
//	notify <status>|error=TEXT                  the result of every due webhook attempt
//	call <dev> ringing|answered|ended id=ID [by=NAME] [reason=R] [device=FILE] [console=FILE]
//	                                            a step of a voice call (device= and console= name the recordings)
//
// Quoted values ("…") may hold spaces. The output lists acknowledgements,
// errors and call steps that changed nothing as they happened, then every
// alert (its fields, its timeline's actions, its call and the data of its
// call entries), then the pending timers and notifications, times relative
// to t0. Run with -update to rewrite it.
func TestRuleCases(t *testing.T) {
	files, err := filepath.Glob("testdata/rules/*.txt")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no rule cases in testdata/rules")
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".txt"), func(t *testing.T) {
			raw, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			input, want, ok := strings.Cut(string(raw), "\n"+separator+"\n")
			if !ok {
				t.Fatalf("no %q line", separator)
			}
			got := runCase(t, input)
			if *update {
				if err := os.WriteFile(file, []byte(input+"\n"+separator+"\n"+got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			if got != want {
				t.Errorf("output differs (run with -update to accept):\n--- got\n%s--- want\n%s", got, want)
			}
		})
	}
}

// goldenCase is one case being run.
type goldenCase struct {
	t        *testing.T
	e        *env
	devs     map[string]*devices.Device
	seqs     map[string]uint64
	events   map[string]*devices.Message // by device and seq, for duplicate
	lastSeen map[string]time.Time
	open     map[string]alerts.OpenSet // folded from every change, checked against the store
	out      strings.Builder
	more     goldenMore // incidents, supervision and check-ins (golden_more_test.go)
}

func runCase(t *testing.T, input string) string {
	c := &goldenCase{t: t, devs: map[string]*devices.Device{}, seqs: map[string]uint64{},
		events: map[string]*devices.Message{}, lastSeen: map[string]time.Time{}, open: map[string]alerts.OpenSet{}}
	cfg := alerts.Config{}
	var steps []string
	for n, line := range strings.Split(input, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		word, rest, _ := strings.Cut(line, " ")
		switch word {
		case "device":
			f := strings.Fields(rest)
			if len(f) < 2 {
				t.Fatalf("line %d: device <id> <kind> [alone]", n+1)
			}
			c.devs[f[0]] = device(f[0], devices.Kind(f[1]), len(f) > 2 && f[2] == "alone")
			c.deviceOptions(c.devs[f[0]], f[2:])
		case "rules":
			rs, err := alerts.LoadRules(strings.NewReader(rest))
			if err != nil {
				t.Fatalf("line %d: %v", n+1, err)
			}
			cfg.Rules = rs
		case "webhook":
			cfg.Directory = webhookRoutes
		case "route":
			// route <party> <channel> [to]: to "household" for the alert's own numbers
			f := strings.Fields(rest)
			if len(f) < 2 {
				t.Fatalf("line %d: route <party> <channel> [to]", n+1)
			}
			r, _ := cfg.Directory.(routes)
			if r == nil {
				r = routes{}
			}
			x := alerts.Recipient{Channel: f[1]}
			if len(f) > 2 {
				x.To = f[2]
			}
			r[f[0]] = append(r[f[0]], x)
			cfg.Directory = r
		case "at":
			steps = append(steps, rest)
		default:
			t.Fatalf("line %d: unknown line %q", n+1, line)
		}
	}
	c.e = newEnv(t, cfg)
	c.start()
	for _, s := range steps {
		c.step(s)
	}
	c.checkOpenSets()
	c.checkCodes()
	return c.report()
}

// goDuration matches Go's duration form ("2m0s", "1h30m0s", "45s"), which
// a page cannot render in its reader's language.
var goDuration = regexp.MustCompile(`^[0-9.]+(ns|us|µs|ms|s|m|h)([0-9.]+(ns|us|µs|ms|s|m|h))*$`)

// checkCodes holds every timeline entry the hub made to the code contract:
// a known code, only its listed parameters, no words of the hub's own in
// Note, and durations in whole seconds.
func (c *goldenCase) checkCodes() {
	for _, a := range c.e.store.Alerts() {
		for _, e := range a.Timeline {
			code, ok := alerts.TimelineCodes[e.Action]
			if !ok {
				c.t.Errorf("alert %d: timeline code %q is not in alerts.TimelineCodes", a.ID, e.Action)
				continue
			}
			person := e.Actor.Role != "system" && e.Actor.Role != "device"
			if e.Note != "" && !person {
				c.t.Errorf("alert %d: %s by %s carries a note of the hub's own: %q", a.ID, e.Action, e.Actor.Role, e.Note)
			}
			for k, v := range e.Data {
				if !slices.Contains(code.Params, k) {
					c.t.Errorf("alert %d: %s: parameter %q is not among %v", a.ID, e.Action, k, code.Params)
				}
				if strings.HasSuffix(k, "_s") || k == "duration" || k == "reporting" || k == "silent_for" {
					if _, err := strconv.Atoi(v); err != nil || goDuration.MatchString(v) && !isDigits(v) {
						c.t.Errorf("alert %d: %s: duration %s=%q is not whole seconds", a.ID, e.Action, k, v)
					}
				}
			}
		}
	}
}

func isDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}

func (c *goldenCase) step(line string) {
	t := c.t
	words := split(t, line)
	if len(words) < 2 {
		t.Fatalf("%q: want at <duration> <input>", line)
	}
	d, err := time.ParseDuration(words[0])
	if err != nil {
		t.Fatalf("%q: %v", line, err)
	}
	now := at(d)
	cmd, args := words[1], words[2:]
	var opts map[string]string
	if len(args) > 0 {
		opts = options(args[1:])
	}
	switch cmd {
	case "event", "telemetry", "status":
		dev := c.dev(args)
		m := c.message(cmd, dev, args[1:], opts, now)
		matters := c.e.svc.TelemetryMatters(dev, m, c.open[dev.ID])
		res := c.e.handle(dev, m)
		if !matters && len(res.Changed) > 0 {
			t.Errorf("%q: TelemetryMatters said false, but the message changed %d alerts", line, len(res.Changed))
		}
		c.fold(res.Changed...)
		c.acks(now, "", res.Acks)
		c.lastSeen[dev.ID] = now
		c.heard(dev, m, res, now)
	case "duplicate":
		dev := c.dev(args)
		m, ok := c.events[dev.ID+"/"+args[1]]
		if !ok {
			t.Fatalf("%q: no event with that seq", line)
		}
		redelivered := *m
		redelivered.Received = now
		var acks []alerts.DeviceAck
		before, _ := c.e.store.LastChangeSeq(context.Background())
		err := c.e.store.InTx(context.Background(), func(tx alerts.Tx) error {
			var err error
			acks, err = c.e.svc.HandleDuplicate(context.Background(), tx, dev, &redelivered)
			return err
		})
		if err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		if after, _ := c.e.store.LastChangeSeq(context.Background()); after != before {
			t.Errorf("%q: HandleDuplicate changed alerts", line)
		}
		c.acks(now, " again", acks)
	case "accept", "dispatch", "take", "arrive", "resolve", "followup", "close", "note":
		id, err := strconv.ParseInt(args[0], 10, 64)
		if err != nil {
			t.Fatalf("%q: alert id: %v", line, err)
		}
		req := alerts.TransitionRequest{AlertID: id, Action: alerts.Action(cmd),
			Actor: alerts.Actor{Name: or(opts["by"], "li"), Role: or(opts["role"], "operator")},
			Note:  opts["note"], DispatchTo: opts["to"], Outcome: alerts.Outcome(opts["outcome"]), Worker: opts["worker"]}
		if r := opts["rating"]; r != "" {
			req.Rating, _ = strconv.Atoi(r)
		}
		if cmd == "followup" {
			req.FollowUp = &alerts.FollowUpReport{Method: or(opts["method"], "call"), Result: or(opts["result"], "resident_ok"), Evaluation: or(opts["evaluation"], "satisfied")}
		}
		if g := opts["grids"]; g != "" {
			sc := &alerts.Scope{User: req.Actor.Name}
			for _, ref := range strings.Split(g, ",") {
				gr, err := devices.ParseGridRef(ref)
				if err != nil {
					t.Fatalf("%q: %v", line, err)
				}
				sc.Grids = append(sc.Grids, gr)
			}
			req.Scope = sc
		}
		var res alerts.Result
		err = c.e.store.InTx(context.Background(), func(tx alerts.Tx) error {
			var err error
			res, err = c.e.svc.TransitionAll(context.Background(), tx, req, now)
			return err
		})
		if err != nil {
			fmt.Fprintf(&c.out, "at %s %s %d: error %s: %s\n", d, cmd, id, shouwang.ErrorCode(err), shouwang.ErrorMessage(err))
			return
		}
		c.fold(res.Changed...)
		c.acks(now, "", res.Acks)
	case "timers":
		due, err := c.e.store.DueTimers(context.Background(), now, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, tm := range due {
			if a := c.e.fire(tm, now); a != nil {
				c.fold(a)
			}
		}
	case "silent", "returned":
		dev := c.dev(args)
		var changed []*alerts.Alert
		err := c.e.store.InTx(context.Background(), func(tx alerts.Tx) error {
			if cmd == "silent" {
				last := c.lastSeen[dev.ID]
				if last.IsZero() {
					last = t0
				}
				a, err := c.e.svc.DeviceSilent(context.Background(), tx, dev, last, now)
				changed = append(changed, a)
				return err
			}
			var err error
			changed, err = c.e.svc.DeviceReturned(context.Background(), tx, dev, now)
			return err
		})
		if err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		c.fold(changed...)
	case "notify":
		c.notify(args, now)
	case "call":
		c.call(args, opts, now)
	default:
		if !c.stepMore(cmd, args, opts, now) {
			t.Fatalf("%q: unknown input %q", line, cmd)
		}
	}
}

// call applies one step of a voice call; a step that changes nothing is
// written to the output, and must leave the change feed alone.
func (c *goldenCase) call(args []string, opts map[string]string, now time.Time) {
	t := c.t
	dev := c.dev(args)
	if len(args) < 2 {
		t.Fatalf("call %v: want call <dev> ringing|answered|ended id=ID", args)
	}
	u := alerts.CallUpdate{ID: opts["id"], State: args[1], At: now, By: opts["by"], EndReason: opts["reason"]}
	for _, side := range []string{"device", "console"} {
		if f, ok := opts[side]; ok {
			if u.Recordings == nil {
				u.Recordings = map[string]string{}
			}
			u.Recordings[side] = f
		}
	}
	bg := context.Background()
	before, _ := c.e.store.LastChangeSeq(bg)
	var res alerts.Result
	err := c.e.store.InTx(bg, func(tx alerts.Tx) error {
		var err error
		res, err = c.e.svc.CallEvent(bg, tx, dev, u)
		return err
	})
	head := fmt.Sprintf("at %s call %s %s %s", now.Sub(t0), dev.ID, u.State, u.ID)
	if err != nil {
		fmt.Fprintf(&c.out, "%s: error %s: %s\n", head, shouwang.ErrorCode(err), shouwang.ErrorMessage(err))
		return
	}
	if len(res.Changed) == 0 {
		fmt.Fprintf(&c.out, "%s: no change\n", head)
		if after, _ := c.e.store.LastChangeSeq(bg); after != before {
			t.Errorf("%s: CallEvent changed nothing, but the change feed moved", head)
		}
	}
	c.fold(res.Changed...)
	c.acks(now, "", res.Acks)
}

func (c *goldenCase) dev(args []string) *devices.Device {
	if len(args) == 0 || c.devs[args[0]] == nil {
		c.t.Fatalf("unknown device in %v", args)
	}
	return c.devs[args[0]]
}

func (c *goldenCase) message(kind string, d *devices.Device, args []string, opts map[string]string, now time.Time) *devices.Message {
	t := c.t
	seq := c.seqs[d.ID] + 1
	if s, ok := opts["seq"]; ok {
		seq = mustUint(t, s)
	}
	if kind != "status" {
		c.seqs[d.ID] = max(c.seqs[d.ID], seq)
	}
	switch kind {
	case "event":
		if len(args) == 0 {
			t.Fatal("event needs a type")
		}
		m := eventMsg(d, seq, devices.EventType(args[0]), now)
		_, m.Event.Test = opts["test"]
		m.Event.Test = m.Event.Test || m.Event.Type == devices.EventTest
		if v, ok := opts["lel"]; ok {
			f := mustFloat(t, v)
			m.Event.LEL = &f
		}
		c.events[d.ID+"/"+strconv.FormatUint(seq, 10)] = m
		return m
	case "telemetry":
		fields := map[string]float64{}
		for k, v := range opts {
			if k != "seq" {
				fields[k] = mustFloat(t, v)
			}
		}
		return telemetryMsg(d, seq, fields, now)
	}
	if len(args) == 0 || (args[0] != "online" && args[0] != "offline") {
		t.Fatal("status needs online or offline")
	}
	m := statusMsg(d, args[0] == "online", now)
	if v, ok := opts["battery"]; ok {
		f := mustFloat(t, v)
		m.Status.Battery = &f
	}
	return m
}

func (c *goldenCase) notify(args []string, now time.Time) {
	t := c.t
	status, sendErr := 0, error(nil)
	if len(args) != 1 {
		t.Fatal("notify <status>|error=TEXT")
	}
	if msg, ok := strings.CutPrefix(args[0], "error="); ok {
		sendErr = errors.New(msg)
	} else {
		status = int(mustUint(t, args[0]))
	}
	due, err := c.e.store.DueNotifications(context.Background(), now, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range due {
		var a *alerts.Alert
		err := c.e.store.InTx(context.Background(), func(tx alerts.Tx) error {
			var err error
			a, err = c.e.svc.NotificationResult(context.Background(), tx, n, status, sendErr, now)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		c.fold(a)
	}
}

func (c *goldenCase) fold(changed ...*alerts.Alert) {
	for _, a := range changed {
		if a != nil {
			c.open[a.DeviceID] = c.open[a.DeviceID].Fold(a)
		}
	}
}

// checkOpenSets compares the sets folded from every change with the ones
// the hub would build at start from the store.
func (c *goldenCase) checkOpenSets() {
	ctx := context.Background()
	open, err := c.e.store.OpenAlertsAll(ctx)
	if err != nil {
		c.t.Fatal(err)
	}
	latched, err := c.e.store.UnclearedLatest(ctx, alerts.KindLowBattery)
	if err != nil {
		c.t.Fatal(err)
	}
	want := alerts.Summarize(append(open, latched...))
	for id, set := range c.open {
		if set.Empty() {
			delete(c.open, id)
		}
	}
	if !reflect.DeepEqual(normSets(c.open), normSets(want)) {
		c.t.Errorf("open sets folded from changes:\n%+v\nbuilt from the store:\n%+v", c.open, want)
	}
}

func normSets(m map[string]alerts.OpenSet) map[string]string {
	out := map[string]string{}
	for id, s := range m {
		out[id] = fmt.Sprintf("%v %d", sortedOpen(s.Alerts), s.LowBattery)
	}
	return out
}

func sortedOpen(list []alerts.OpenAlert) []string {
	var s []string
	for _, a := range list {
		s = append(s, fmt.Sprintf("%d:%s:%s:%v", a.ID, a.Kind, a.Severity, a.Cleared))
	}
	slices.Sort(s)
	return s
}

func (c *goldenCase) acks(now time.Time, suffix string, acks []alerts.DeviceAck) {
	for _, a := range acks {
		fmt.Fprintf(&c.out, "at %s ack%s %s %s\n", now.Sub(t0), suffix, a.DeviceID, a.Payload)
	}
}

// report renders the store as the expected output.
func (c *goldenCase) report() string {
	b := &c.out
	for _, a := range c.e.store.Alerts() {
		reading := "-"
		if a.Reading != nil {
			reading = strconv.FormatFloat(*a.Reading, 'g', -1, 64)
		}
		fmt.Fprintf(b, "alert %d %s: kind=%s severity=%s priority=%d state=%s occurrences=%d cleared=%v reading=%s escalation=%d test=%v",
			a.ID, strings.ReplaceAll(a.DeviceID, "\x1f", "/"), a.Kind, a.Severity, a.Priority, a.State, a.Occurrences, a.Cleared, reading, a.EscalationLevel, a.Test)
		if a.Assignee != "" {
			fmt.Fprintf(b, " assignee=%s", a.Assignee)
		}
		if a.DispatchedTo != "" {
			fmt.Fprintf(b, " dispatched_to=%q", a.DispatchedTo)
		}
		if a.Outcome != "" {
			fmt.Fprintf(b, " outcome=%s", a.Outcome)
		}
		fmt.Fprintf(b, "\n  timeline: %s\n", strings.Join(actions(a), " "))
		c.reportIncident(b, a)
		if cl := a.Call; cl != nil {
			fmt.Fprintf(b, "  call %s: state=%s started=%s", cl.ID, cl.State, since(cl.StartedAt))
			if !cl.AnsweredAt.IsZero() {
				fmt.Fprintf(b, " answered=%s by=%s", since(cl.AnsweredAt), cl.AnsweredBy)
			}
			if !cl.EndedAt.IsZero() {
				fmt.Fprintf(b, " ended=%s reason=%s", since(cl.EndedAt), cl.EndReason)
			}
			b.WriteString("\n")
		}
		if tk := a.Task; tk != nil {
			fmt.Fprintf(b, "  task: worker=%s state=%s sent=%s taken=%s arrived=%s handled=%s workers=%s\n", tk.Worker, tk.State,
				since(tk.SentAt), since(tk.TakenAt), since(tk.ArrivedAt), since(tk.HandledAt), strings.Join(tk.Workers, ","))
		}
		if f := a.FollowUp; f != nil {
			fmt.Fprintf(b, "  follow-up: due=%s done=%s by=%s method=%s result=%s evaluation=%s on_time=%v\n",
				since(f.Due), since(f.DoneAt), f.By, f.Method, f.Result, f.Evaluation, f.OnTime())
		}
		if r := a.Review; r != nil {
			fmt.Fprintf(b, "  review: by=%s at=%s rating=%d comment=%q\n", r.By, since(r.At), r.Rating, r.Comment)
		}
		for _, e := range a.Timeline {
			if strings.HasPrefix(e.Action, "call_") || loopEntries[e.Action] {
				fmt.Fprintf(b, "  %s at %s by %s/%s: %s\n", e.Action, since(e.At), e.Actor.Role, e.Actor.Name, dataString(e.Data))
			}
		}
	}
	for _, tm := range c.e.store.Timers() {
		fmt.Fprintf(b, "timer alert %d %s at %s\n", tm.AlertID, tm.Kind, tm.Due.Sub(t0))
	}
	for _, n := range c.e.store.Notifications() {
		fmt.Fprintf(b, "notification %d alert %d level %d %s via %s", n.ID, n.AlertID, n.Level, n.Party, n.Channel)
		if n.To != "" {
			fmt.Fprintf(b, " to %s", n.To)
		}
		fmt.Fprintf(b, " attempts %d next at %s\n", n.Attempts, n.NextAttempt.Sub(t0))
	}
	return b.String()
}

// loopEntries are the timeline entries of the grid worker's task and the
// loop's last steps, shown with their data.
var loopEntries = map[string]bool{
	alerts.TimelineDispatched: true, alerts.TimelineTaskTaken: true, alerts.TimelineArrived: true,
	alerts.TimelineResolved: true, alerts.TimelineFollowedUp: true, alerts.TimelineFollowUpOverdue: true,
	alerts.TimelineClosed: true, alerts.TimelineNotifyQueued: true, alerts.TimelineNotifyUnrouted: true, alerts.TimelineNotifyNone: true,
}

// since is t relative to t0, "-" for the zero time.
func since(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Sub(t0).String()
}

// dataString renders timeline data as sorted key=value words.
func dataString(m map[string]string) string {
	keys := slices.Sorted(maps.Keys(m))
	for i, k := range keys {
		keys[i] = k + "=" + m[k]
	}
	return strings.Join(keys, " ")
}

// split splits a line into words; a double-quoted part of a word may hold
// spaces.
func split(t *testing.T, line string) []string {
	var (
		words []string
		cur   strings.Builder
		quote bool
		has   bool
	)
	for i := 0; i < len(line); i++ {
		ch := line[i]
		switch {
		case ch == '"':
			quote = !quote
			has = true
		case ch == ' ' && !quote:
			if has {
				words = append(words, cur.String())
				cur.Reset()
				has = false
			}
		default:
			cur.WriteByte(ch)
			has = true
		}
	}
	if quote {
		t.Fatalf("%q: unbalanced quote", line)
	}
	if has {
		words = append(words, cur.String())
	}
	return words
}

// options reads key=value words (a bare word is a key with an empty value).
func options(words []string) map[string]string {
	m := map[string]string{}
	for _, w := range words {
		if k, v, ok := strings.Cut(w, "="); ok {
			m[k] = v
		} else {
			m[w] = ""
		}
	}
	return m
}

func or(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

func mustUint(t *testing.T, s string) uint64 {
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		t.Fatalf("%q: %v", s, err)
	}
	return v
}

func mustFloat(t *testing.T, s string) float64 {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		t.Fatalf("%q: %v", s, err)
	}
	return v
}
