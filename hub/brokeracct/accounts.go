// Package brokeracct gives a production broker — EMQX or mosquitto, run
// beside the hub — the registry's MQTT accounts and the domain's topic
// policy, and keeps them current without restarting the broker: EMQX asks
// the hub over HTTP (its HTTP authenticator and authorizer, answered from
// memory), mosquitto reads a password file and an ACL file the hub rewrites
// and has it reload on every registry change.
//
// The accounts are the registry's devices that connect themselves (native
// devices, Shelly devices, Zigbee2MQTT bridges — not the Zigbee devices
// behind a bridge) and the hub's own service account; what each may publish
// and read is devices.Policy, the one source every broker takes it from.
package brokeracct

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/shouwang-hub/shouwang/devices"
)

// Account is one MQTT account a broker admits: who it is to the topic
// policy, and its password hash in mosquitto's $7$ format.
type Account struct {
	Principal devices.Principal
	Hash      string
}

// Source is the registry as the accounts are read from it.
type Source interface {
	// LoadAccounts calls fn for every registered device.
	LoadAccounts(ctx context.Context, fn func(Account) error) error
	// Account returns the registered device id; ok is false when there is
	// none.
	Account(ctx context.Context, id string) (a Account, ok bool, err error)
}

// Config configures Accounts.
type Config struct {
	Source Source
	Policy *devices.Policy
	// Roots, if set, lists the vendor roots (bridge base topics, Shelly
	// prefixes) the hub reads, for its own account's rules.
	Roots func() []devices.Root
	// ServiceUser and ServicePassword are the hub's own account on the
	// broker (-mqtt-username, -mqtt-password). Without a password the
	// service account is left out of the password file (its ACL is written)
	// and refused over HTTP.
	ServiceUser, ServicePassword string
}

// Decision is an answer to a broker: allow, deny or ignore (not ours to
// decide: the broker asks its next authenticator), and why.
type Decision struct {
	Result string
	Reason string
}

// Results.
const (
	Allow  = "allow"
	Deny   = "deny"
	Ignore = "ignore"
)

// Accounts is the registry's MQTT accounts in memory, refreshed on every
// registry change. Its methods may be called from any goroutine.
type Accounts struct {
	cfg         Config
	log         *slog.Logger
	key         []byte // keys the sums of verified passwords; random per process
	serviceHash string // $7$ of ServicePassword, for the password file

	mu   sync.RWMutex
	byID map[string]*entry

	notify chan struct{} // capacity 1: a change happened (the mosquitto writer waits on it)
	stats  stats
}

// entry is one account with the sum of the password last verified for it,
// so that a device reconnecting costs a keyed hash instead of the $7$
// PBKDF2 (1,000 rounds of SHA-512). A new password or hash is a new entry.
type entry struct {
	Account
	verified atomic.Pointer[[sha256.Size]byte]
}

// New checks cfg and returns empty Accounts; Load fills them.
func New(cfg Config, logger *slog.Logger) (*Accounts, error) {
	switch {
	case cfg.Source == nil:
		return nil, errors.New("brokeracct: Source is required")
	case cfg.Policy == nil:
		return nil, errors.New("brokeracct: Policy is required")
	case cfg.ServiceUser == "":
		return nil, errors.New("brokeracct: ServiceUser is required")
	case logger == nil:
		return nil, errors.New("brokeracct: logger is required")
	}
	a := &Accounts{cfg: cfg, log: logger, key: make([]byte, 32), byID: map[string]*entry{}, notify: make(chan struct{}, 1)}
	rand.Read(a.key)
	if cfg.ServicePassword != "" {
		a.serviceHash = devices.HashPassword(cfg.ServicePassword)
	}
	return a, nil
}

// ownAccount reports whether a registered device connects to the broker
// itself: a Zigbee device speaks only through its bridge's account.
func ownAccount(p devices.Principal) bool {
	return !(p.Role == devices.RoleDevice && p.Source == devices.SourceZigbee2MQTT)
}

// Load reads every account from the registry, replacing what was held.
func (a *Accounts) Load(ctx context.Context) error {
	byID := map[string]*entry{}
	err := a.cfg.Source.LoadAccounts(ctx, func(acc Account) error {
		if ownAccount(acc.Principal) && acc.Principal.ID != a.cfg.ServiceUser {
			byID[acc.Principal.ID] = &entry{Account: acc}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("brokeracct: load accounts: %w", err)
	}
	a.mu.Lock()
	a.byID = byID
	a.mu.Unlock()
	a.changed()
	return nil
}

// Changed reads one device's account again after the registry changed it
// (created, updated, deleted, given a new password); id "" reads them all.
func (a *Accounts) Changed(ctx context.Context, id string) error {
	if id == "" {
		return a.Load(ctx)
	}
	acc, ok, err := a.cfg.Source.Account(ctx, id)
	if err != nil {
		return fmt.Errorf("brokeracct: refresh %s: %w", id, err)
	}
	a.mu.Lock()
	old := a.byID[id]
	switch {
	case ok && ownAccount(acc.Principal) && id != a.cfg.ServiceUser:
		if old == nil || !sameAccount(old.Account, acc) {
			a.byID[id] = &entry{Account: acc}
		}
	default:
		delete(a.byID, id)
	}
	a.mu.Unlock()
	a.changed()
	return nil
}

// sameAccount reports whether two device accounts are alike: an unchanged
// one keeps the sum of its verified password.
func sameAccount(x, y Account) bool {
	px, py := x.Principal, y.Principal
	return x.Hash == y.Hash && px.Role == py.Role && px.ID == py.ID && px.Source == py.Source && px.Root == py.Root
}

func (a *Accounts) changed() {
	select {
	case a.notify <- struct{}{}:
	default:
	}
}

// Len returns the number of device accounts held.
func (a *Accounts) Len() int {
	a.mu.RLock()
	defer a.mu.RUnlock()
	return len(a.byID)
}

func (a *Accounts) get(id string) *entry {
	a.mu.RLock()
	defer a.mu.RUnlock()
	return a.byID[id]
}

// service is the hub's own principal, reading every vendor root.
func (a *Accounts) service() devices.Principal {
	p := devices.Principal{Role: devices.RoleService, ID: a.cfg.ServiceUser}
	if a.cfg.Roots != nil {
		p.Roots = a.cfg.Roots()
	}
	return p
}

// Authenticate decides a connection: the hub's service account by its
// password; a device by its password, with the client ID equal to its ID
// (its session is its own). An anonymous client is not ours to decide;
// anyone else is refused.
func (a *Accounts) Authenticate(clientID, username, password string) Decision {
	switch {
	case username == "":
		return Decision{Ignore, "anonymous"}
	case username == a.cfg.ServiceUser:
		if a.cfg.ServicePassword != "" && subtle.ConstantTimeCompare([]byte(password), []byte(a.cfg.ServicePassword)) == 1 {
			return Decision{Allow, "service"}
		}
		return Decision{Deny, "wrong password for the service account"}
	}
	e := a.get(username)
	switch {
	case e == nil:
		return Decision{Deny, string(devices.ReasonUnregistered)}
	case clientID != username:
		return Decision{Deny, "client id differs from the device id"}
	case !a.checkPassword(e, password):
		return Decision{Deny, "wrong password"}
	}
	return Decision{Allow, ""}
}

// checkPassword verifies password against e's hash, once: later checks of
// the same password compare a keyed SHA-256 held in memory.
func (a *Accounts) checkPassword(e *entry, password string) bool {
	m := hmac.New(sha256.New, a.key)
	m.Write([]byte(password))
	var sum [sha256.Size]byte
	m.Sum(sum[:0])
	if v := e.verified.Load(); v != nil && hmac.Equal(v[:], sum[:]) {
		return true
	}
	if !devices.CheckPassword(e.Hash, password) {
		return false
	}
	e.verified.Store(&sum)
	return true
}

// Authorize decides a publish or a subscription (action "publish" or
// "subscribe") by the topic policy. A shared subscription is decided on its
// topic filter. Anonymous clients are not ours to decide; unknown accounts
// and a device not on its own session are refused.
func (a *Accounts) Authorize(clientID, username, topic, action string) Decision {
	if username == "" {
		return Decision{Ignore, "anonymous"}
	}
	var p devices.Principal
	if username == a.cfg.ServiceUser {
		p = a.service()
	} else {
		e := a.get(username)
		if e == nil {
			return Decision{Deny, string(devices.ReasonUnregistered)}
		}
		if clientID != username {
			return Decision{Deny, "client id differs from the device id"}
		}
		p = e.Principal
	}
	var ok bool
	var reason devices.Reason
	switch action {
	case "publish":
		ok, reason = a.cfg.Policy.MayPublish(p, topic)
	case "subscribe":
		ok, reason = a.cfg.Policy.MayRead(p, sharedFilter(topic))
	default:
		return Decision{Deny, "unknown action " + action}
	}
	if !ok {
		return Decision{Deny, string(reason)}
	}
	return Decision{Allow, ""}
}

// sharedFilter is the topic filter of a shared subscription
// ("$share/group/filter", or EMQX's older "$queue/filter"); any other
// filter as it is.
func sharedFilter(f string) string {
	if rest, ok := strings.CutPrefix(f, "$share/"); ok {
		if _, filter, ok := strings.Cut(rest, "/"); ok {
			return filter
		}
	}
	if rest, ok := strings.CutPrefix(f, "$queue/"); ok {
		return rest
	}
	return f
}
