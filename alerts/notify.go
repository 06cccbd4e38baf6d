package alerts

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/shouwang-hub/shouwang/devices"
)

// Escalation up the hierarchy, as data. An alert tells people outside the
// console at each level — 0 when it opens, 1 when nobody accepted it within
// T1, 2 within T2 — by party: who each party is, and on which channel, is
// the street's configuration (a Directory); which parties are told, per
// community, kind and severity, is the rules' (NotifyRules). Each message
// to each recipient is a durable notification in the store, retried with
// back-off, every attempt on the alert's timeline.

// Parties: who may be told of an alert.
const (
	PartyGridWorker    = "grid_worker"    // the household's grid worker
	PartyFamily        = "family"         // the resident's contacts the household opted in (sos only)
	PartyCommunityDuty = "community_duty" // the community's duty officer
	PartyStreetLeader  = "street_leader"  // the street's duty leader
	PartyPolice        = "110"
	PartyFire          = "119"
	PartyAmbulance     = "120"
	PartyGasCompany    = "gas_company"
	PartyProperty      = "property" // property management (物业)
)

// Parties lists every party, from the household out.
var Parties = []string{PartyFamily, PartyGridWorker, PartyProperty, PartyCommunityDuty, PartyStreetLeader,
	PartyGasCompany, PartyFire, PartyAmbulance, PartyPolice}

// NotifyLevels are the levels a policy names: "0" (opening), "1", "2".
var NotifyLevels = []string{"0", "1", "2"}

// NotifyPolicy names the parties told at each level: Levels for every
// alert, plus Kinds for an alert of that kind and Severities for one of
// that severity. Level keys are "0", "1" and "2".
type NotifyPolicy struct {
	Levels     map[string][]string              `json:"levels,omitempty"`
	Kinds      map[Kind]map[string][]string     `json:"kinds,omitempty"`
	Severities map[Severity]map[string][]string `json:"severities,omitempty"`
}

// NotifyRules are the street's policy and the communities' own: a
// community's levels, and each of its kinds and severities, replace the
// street's where the community names them.
type NotifyRules struct {
	NotifyPolicy
	Communities map[string]NotifyPolicy `json:"communities,omitempty"`
}

// defaultNotify: at opening, the family a household opted in is told of an
// SOS; unaccepted after T1, the household's grid worker and the community's
// duty officer — and 119 for a fire or CO alarm, the gas company for a
// heavy leak; after T2, the street's duty leader (and the gas company for
// any leak).
func defaultNotify() NotifyRules {
	return NotifyRules{NotifyPolicy: NotifyPolicy{
		Levels: map[string][]string{"1": {PartyGridWorker, PartyCommunityDuty}, "2": {PartyStreetLeader}},
		Kinds: map[Kind]map[string][]string{
			KindSOS:     {"0": {PartyFamily}},
			KindSmoke:   {"1": {PartyFire}},
			KindCO:      {"1": {PartyFire}},
			KindGasHigh: {"1": {PartyGasCompany}},
			KindGasLow:  {"2": {PartyGasCompany}},
		},
	}}
}

// PartiesFor returns the parties told of an alert in a community, of a
// kind and severity, at a level, each once, in the policy's order.
func (r NotifyRules) PartiesFor(community string, kind Kind, sev Severity, level int) []string {
	lv := strconv.Itoa(level)
	c, ok := r.Communities[community]
	levels := r.Levels
	if ok && c.Levels != nil {
		levels = c.Levels
	}
	kinds := r.Kinds[kind]
	if k, found := c.Kinds[kind]; ok && found {
		kinds = k
	}
	sevs := r.Severities[sev]
	if s, found := c.Severities[sev]; ok && found {
		sevs = s
	}
	var out []string
	for _, list := range [][]string{levels[lv], sevs[lv], kinds[lv]} {
		for _, p := range list {
			if !slices.Contains(out, p) {
				out = append(out, p)
			}
		}
	}
	return out
}

func (r NotifyRules) validate() error {
	check := func(p string, pol NotifyPolicy) error {
		lists := map[string]map[string][]string{p + "levels": pol.Levels}
		for k, m := range pol.Kinds {
			if !slices.Contains(Kinds, k) {
				return invalid("%skinds.%s: not an alert kind", p, clip(string(k)))
			}
			lists[p+"kinds."+string(k)] = m
		}
		for sev, m := range pol.Severities {
			if sev.Rank() == 0 {
				return invalid("%sseverities.%s: not a severity", p, clip(string(sev)))
			}
			lists[p+"severities."+string(sev)] = m
		}
		for _, name := range sortedKeys(lists) {
			for lv, parties := range lists[name] {
				if !slices.Contains(NotifyLevels, lv) {
					return invalid("%s.%s: levels are 0 (opening), 1 and 2", name, clip(lv))
				}
				for _, party := range parties {
					if !slices.Contains(Parties, party) {
						return invalid("%s.%s: %q is not a party (want %s)", name, lv, clip(party), strings.Join(Parties, ", "))
					}
				}
			}
		}
		return nil
	}
	if err := check("notify.", r.NotifyPolicy); err != nil {
		return err
	}
	for _, c := range sortedKeys(r.Communities) {
		if err := check("notify.communities["+strconv.Quote(clip(c))+"].", r.Communities[c]); err != nil {
			return err
		}
	}
	return nil
}

// overlay lays a rules file's notify section over r: levels replaced,
// kinds and severities replaced one by one, communities replaced.
func (r *NotifyRules) overlay(f *NotifyRules) {
	if f.Levels != nil {
		r.Levels = f.Levels
	}
	for k, m := range f.Kinds {
		if r.Kinds == nil {
			r.Kinds = map[Kind]map[string][]string{}
		}
		r.Kinds[k] = m
	}
	for s, m := range f.Severities {
		if r.Severities == nil {
			r.Severities = map[Severity]map[string][]string{}
		}
		r.Severities[s] = m
	}
	if f.Communities != nil {
		r.Communities = f.Communities
	}
}

// Recipient is one party's recipient on one channel: a group robot (To
// empty) or a phone number (an SMS gateway), told in Lang ("zh" or "en").
type Recipient struct {
	Party   string `json:"party"`
	Channel string `json:"channel"`
	To      string `json:"to,omitempty"`
	Lang    string `json:"lang,omitempty"`
}

// Why a party has nobody to tell, as Directory.Recipients says it.
const (
	NoRecipient   = ""             // nobody is meant to be told: a household opted none in
	NotConfigured = "unconfigured" // no channel is set up for the party here
	NoPhone       = "no_phone"     // the party is the household's, and no number is registered
)

// Directory is the street's configuration of who each party is.
type Directory interface {
	// Recipients returns who party is for alert a; when none, why
	// (NoRecipient, NotConfigured or NoPhone).
	Recipients(party string, a *Alert) ([]Recipient, string)
}

// Message is a notification's content: what the alert is and where, for
// the channel to say in the recipient's language. The generic webhook
// POSTs it as JSON.
type Message struct {
	Alert      int64              `json:"alert"`
	Kind       Kind               `json:"kind"`
	Severity   Severity           `json:"severity"`
	Level      int                `json:"level"`
	Party      string             `json:"party"`
	DeviceID   string             `json:"device_id"`
	Address    string             `json:"address"`
	Community  string             `json:"community"`
	Grid       string             `json:"grid"`
	Resident   string             `json:"resident"`
	LivesAlone bool               `json:"lives_alone"`
	GridWorker devices.GridWorker `json:"grid_worker"`
	OpenedAt   time.Time          `json:"opened_at"`
	Test       bool               `json:"test"`
}

// Timeline codes of notifications (see model.go for the attempts').
const (
	TimelineNotifyQueued   = "notify_queued"   // Data: level, party, channel, to
	TimelineNotifyUnrouted = "notify_unrouted" // Data: level, party, reason
)

// planNotify tells the parties the rules name for a's level: a durable
// notification per recipient, noted on the timeline; a party with nobody
// configured is noted as such; a level with no party at all (past 0) too.
func (s *Service) planNotify(o *op, a *Alert, level int) error {
	if a.Test {
		return nil
	}
	lv := strconv.Itoa(level)
	loc := a.Device.Location
	parties := s.rules.Notify.PartiesFor(loc.Community, a.Kind, a.Severity, level)
	if len(parties) == 0 {
		if level == 0 {
			return nil
		}
		return o.log(a, System, TimelineNotifyNone, "", map[string]string{"level": lv})
	}
	msg := Message{
		Alert: a.ID, Kind: a.Kind, Severity: a.Severity, Level: level, DeviceID: a.DeviceID,
		Address: loc.String(), Community: loc.Community, Grid: loc.Grid,
		Resident: a.Device.Resident.Name, LivesAlone: a.Device.Resident.LivesAlone,
		GridWorker: a.Device.GridWorker, OpenedAt: a.OpenedAt.UTC(), Test: a.Test,
	}
	for _, party := range parties {
		if party == PartyFamily && !slices.ContainsFunc(a.Device.Contacts, func(c devices.Contact) bool { return c.NotifySOS }) {
			continue // the household opted nobody in
		}
		var rs []Recipient
		why := NotConfigured
		if s.directory != nil {
			rs, why = s.directory.Recipients(party, a)
		}
		if len(rs) == 0 {
			if why == NoRecipient {
				continue
			}
			if err := o.log(a, System, TimelineNotifyUnrouted, "", map[string]string{"level": lv, "party": party, "reason": why}); err != nil {
				return err
			}
			continue
		}
		msg.Party = party
		payload, err := json.Marshal(msg)
		if err != nil {
			return fmt.Errorf("alert %d: encode notification: %w", a.ID, err)
		}
		for _, r := range rs {
			n := &Notification{AlertID: a.ID, Level: level, NextAttempt: o.now, Payload: payload,
				Party: party, Channel: r.Channel, To: r.To, Lang: r.Lang}
			if err := o.tx.EnqueueNotification(o.ctx, n); err != nil {
				return fmt.Errorf("alert %d: enqueue notification: %w", a.ID, err)
			}
			data := map[string]string{"level": lv, "party": party, "channel": r.Channel}
			if r.To != "" {
				data["to"] = r.To
			}
			if err := o.log(a, System, TimelineNotifyQueued, "", data); err != nil {
				return err
			}
		}
	}
	return nil
}
