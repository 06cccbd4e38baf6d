package devices

import "strings"

// The topic policy: who may publish and subscribe what. It is the one
// source of truth for every broker the hub works with: the embedded broker
// asks MayPublish and MayRead on each packet, and a broker configured from
// files (mosquitto's acl_file) or asking over HTTP (EMQX's authorizer) is
// given the same answers, from Rules. The rules of each account come from
// the codec of its source (see Codec), so a new source brings its topics
// with it and nothing is written twice.

// Role is what an MQTT account is to the hub.
type Role string

// Roles.
const (
	RoleService Role = "service" // the hub's own client
	RoleDevice  Role = "device"  // a device that connects itself (native, Shelly)
	RoleGateway Role = "gateway" // a bridge publishing for its devices (Zigbee2MQTT)
)

// Principal is an MQTT account as the topic policy sees it.
type Principal struct {
	Role   Role
	ID     string // the MQTT username (and client ID) of a device or gateway
	Source Source // the codec it speaks; "" means native
	// Root is where its topics live: a Zigbee2MQTT bridge's base topic, a
	// Shelly's MQTT prefix. Empty for native devices (TopicPrefix + ID).
	Root string
	// Roots are, for the service, the vendor roots the hub reads: every
	// registered bridge's base topic and Shelly prefix.
	Roots []Root
}

// Root is one vendor topic root and the source that speaks under it.
type Root struct {
	Source Source
	Root   string
}

// Access is what a rule allows: reading (subscribing and receiving),
// writing (publishing), or both.
type Access uint8

// Accesses.
const (
	AccessRead  Access = 1
	AccessWrite Access = 2
	AccessBoth         = AccessRead | AccessWrite
)

// TopicRule allows Access on the topics an MQTT filter matches. The filter
// uses only standard wildcards, so it can be written as it is into
// mosquitto's acl_file ("topic read|write|readwrite FILTER").
type TopicRule struct {
	Filter string
	Access Access
	// IDLevel, when > 0, names a filter level (0-based) holding a '+' that
	// must match a valid device ID (ValidID) or a wildcard: the native
	// protocol's device level. A broker that cannot express it (mosquitto)
	// is still safe, as the hub refuses such topics on receipt.
	IDLevel int
}

// Policy is the topic policy of a set of codecs: one per source the hub
// takes. Build it once with NewPolicy; it is safe for concurrent use.
type Policy struct {
	codecs map[Source]Codec
}

// NewPolicy returns the policy of codecs. The native codec is always in it.
func NewPolicy(codecs ...Codec) *Policy {
	p := &Policy{codecs: map[Source]Codec{SourceNative: Native}}
	for _, c := range codecs {
		p.codecs[c.Source()] = c
	}
	return p
}

// Codec returns the codec of source s ("" is native), or nil.
func (pol *Policy) Codec(s Source) Codec {
	if s == "" {
		s = SourceNative
	}
	return pol.codecs[s]
}

// Rules returns what p may do, from its source's codec.
func (pol *Policy) Rules(p Principal) []TopicRule {
	switch p.Role {
	case RoleService:
		rules := Native.ServiceRules("")
		for _, r := range p.Roots {
			if c := pol.Codec(r.Source); c != nil && c != Native {
				rules = append(rules, c.ServiceRules(r.Root)...)
			}
		}
		return rules
	case RoleDevice, RoleGateway:
		if c := pol.Codec(p.Source); c != nil {
			return c.ClientRules(p.ID, p.Root)
		}
	}
	return nil
}

// Subscriptions are the filters the hub reads, each with its lane: the
// native ones and those of every vendor root.
func (pol *Policy) Subscriptions(roots []Root) []Subscription {
	subs := Native.Subscriptions("")
	for _, r := range roots {
		if c := pol.Codec(r.Source); c != nil && c != Native {
			subs = append(subs, c.Subscriptions(r.Root)...)
		}
	}
	return subs
}

// MayPublish decides a publish by p on topic. A refusal says whether the
// topic names another device (ReasonSpoofed) or simply lies outside the
// account's topics (ReasonBadTopic). A broker that checks every packet
// compiles p's rules once instead (Compile).
func (pol *Policy) MayPublish(p Principal, topic string) (bool, Reason) {
	return pol.Compile(p).MayPublish(topic)
}

// MayRead decides a subscription to filter by p, or the delivery of a
// message on a topic (a filter without wildcards): every topic the filter
// can match must be readable.
func (pol *Policy) MayRead(p Principal, filter string) (bool, Reason) {
	return pol.Compile(p).MayRead(filter)
}

// WillAllowed reports whether p may leave a last will on topic: for a
// native device only its own status topic; for other sources any topic it
// may publish on (a Zigbee2MQTT bridge's <base>/bridge/state, a Shelly's
// <prefix>/online).
func (pol *Policy) WillAllowed(p Principal, topic string) bool {
	if p.Role == RoleDevice && (p.Source == "" || p.Source == SourceNative) {
		return topic == Topic(p.ID, ChannelStatus)
	}
	ok, _ := pol.MayPublish(p, topic)
	return ok
}

// ACL is one principal's rules, compiled for checking packet after packet
// without allocating. It is immutable and safe for concurrent use.
type ACL struct {
	p     Principal
	rules []compiledRule
}

type compiledRule struct {
	levels  []string
	access  Access
	idLevel int
}

// Compile returns p's rules compiled.
func (pol *Policy) Compile(p Principal) *ACL {
	rules := pol.Rules(p)
	a := &ACL{p: p, rules: make([]compiledRule, len(rules))}
	for i, r := range rules {
		a.rules[i] = compiledRule{levels: strings.Split(r.Filter, "/"), access: r.Access, idLevel: r.IDLevel}
	}
	return a
}

// Principal is who the ACL is for.
func (a *ACL) Principal() Principal { return a.p }

// MayPublish is Policy.MayPublish for the ACL's principal.
func (a *ACL) MayPublish(topic string) (bool, Reason) {
	if ValidTopic(topic) && a.allowed(topic, AccessWrite) {
		return true, ""
	}
	return false, RefusalReason(a.p, topic)
}

// MayRead is Policy.MayRead for the ACL's principal.
func (a *ACL) MayRead(filter string) (bool, Reason) {
	if ValidFilter(filter) && a.allowed(filter, AccessRead) {
		return true, ""
	}
	return false, RefusalReason(a.p, filter)
}

func (a *ACL) allowed(filter string, acc Access) bool {
	for _, r := range a.rules {
		if r.access&acc == 0 || !covers(r.levels, filter) {
			continue
		}
		if r.idLevel > 0 {
			if l, ok := level(filter, r.idLevel); ok && l != "+" && l != "#" && !ValidID(l) {
				continue
			}
		}
		return true
	}
	return false
}

// level returns the i-th level (0-based) of a topic or filter.
func level(filter string, i int) (string, bool) {
	for ; i > 0; i-- {
		j := strings.IndexByte(filter, '/')
		if j < 0 {
			return "", false
		}
		filter = filter[j+1:]
	}
	l, _, _ := strings.Cut(filter, "/")
	return l, true
}

// covers reports whether every topic filter matches is matched by the rule
// whose levels are given (a topic is a filter without wildcards). A '#'
// matches its parent level too ("a/#" matches "a").
func covers(rule []string, filter string) bool {
	rest, more := filter, true
	for _, r := range rule {
		if r == "#" {
			return true
		}
		if !more {
			return false // a shorter filter is covered only by a '#' here
		}
		var f string
		f, rest, more = strings.Cut(rest, "/")
		switch {
		case f == "#":
			return false
		case r == "+":
		case r != f:
			return false
		}
	}
	return !more
}

// ValidTopic reports whether t may be published on: non-empty, no
// wildcards, no NUL.
func ValidTopic(t string) bool {
	return t != "" && len(t) <= 65535 && !strings.ContainsAny(t, "+#\x00")
}

// ValidFilter reports whether f is a well-formed MQTT topic filter: '#'
// only as the whole last level, '+' only as a whole level.
func ValidFilter(f string) bool {
	if f == "" || len(f) > 65535 || strings.Contains(f, "\x00") {
		return false
	}
	for rest, more := f, true; more; {
		var l string
		l, rest, more = strings.Cut(rest, "/")
		if l == "#" && more {
			return false
		}
		if l != "#" && l != "+" && strings.ContainsAny(l, "#+") {
			return false
		}
	}
	return true
}

// RefusalReason classifies a topic refused to p: under another native
// device's prefix it is spoofing, otherwise just a bad topic.
func RefusalReason(p Principal, topic string) Reason {
	after, ok := strings.CutPrefix(topic, TopicPrefix)
	if !ok {
		return ReasonBadTopic
	}
	owner, _, _ := strings.Cut(after, "/")
	if p.Role == RoleService {
		return ReasonBadTopic
	}
	own := p.Role == RoleDevice && (p.Source == "" || p.Source == SourceNative) && owner == p.ID
	if !own && (owner == "+" || owner == "#" || ValidID(owner)) {
		return ReasonSpoofed
	}
	return ReasonBadTopic
}
