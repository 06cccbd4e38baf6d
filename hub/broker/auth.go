package broker

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"sync"
	"time"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/shouwang-hub/shouwang/devices"
)

// authTimeout bounds one registry lookup made while a client connects.
const authTimeout = 5 * time.Second

// OnConnectAuthenticate admits the service user and registered devices.
// Everything refused is counted and reported through Config.OnReject.
func (p *policy) OnConnectAuthenticate(cl *mqtt.Client, pk packets.Packet) bool {
	user := string(pk.Connect.Username)
	reason, detail := p.authenticate(cl, user, pk)
	if reason == "" {
		return true
	}
	p.stats.connectsRefused.Add(1)
	who := user
	if who == "" {
		who = cl.ID
	}
	p.reject(reason, who, detail+" (client id "+clip(cl.ID)+", from "+cl.Net.Remote+")")
	return false
}

// authenticate returns "" when the client may connect, or why not.
func (p *policy) authenticate(cl *mqtt.Client, user string, pk packets.Packet) (devices.Reason, string) {
	if !pk.Connect.UsernameFlag || user == "" {
		return ReasonBadCredentials, "anonymous connect refused"
	}
	if user == p.cfg.ServiceUser {
		if subtle.ConstantTimeCompare(pk.Connect.Password, []byte(p.cfg.ServicePassword)) != 1 {
			return ReasonBadCredentials, "wrong password for the service user"
		}
		return p.sessionOwner(cl, user)
	}
	who, ok, registered, err := p.checkDevice(user, pk.Connect.Password)
	switch {
	case err != nil:
		// Not the device's fault, so not reported as a rejection.
		p.limited.Warn("auth", "device credential check failed", "device", clip(user), "err", err)
		return ReasonBadCredentials, "credential check failed: " + err.Error()
	case !registered:
		return devices.ReasonUnregistered, "no registered device with this id"
	case !ok:
		return ReasonBadCredentials, "wrong password"
	case who.Role == devices.RoleDevice && who.Source == devices.SourceZigbee2MQTT:
		return ReasonBadCredentials, "a Zigbee device speaks through its bridge, not with an account of its own"
	case cl.ID != user:
		// A device may only use its own session: otherwise it could take
		// over another device's subscriptions and queued commands.
		return devices.ReasonSpoofed, "client id differs from the device id"
	case pk.Connect.WillFlag && !p.cfg.Policy.WillAllowed(who, pk.Connect.WillTopic):
		return devices.RefusalReason(who, pk.Connect.WillTopic), "last will on " + clip(pk.Connect.WillTopic) + ", not on a topic of the device's own"
	}
	if reason, detail := p.sessionOwner(cl, user); reason != "" {
		return reason, detail
	}
	p.principals.Store(cl.ID, p.cfg.Policy.Compile(who))
	return "", ""
}

// sessionOwner refuses to hand an existing session to a different user, so
// a device whose ID happens to equal the hub's client ID cannot take over
// the hub's session (or the other way round).
func (p *policy) sessionOwner(cl *mqtt.Client, user string) (devices.Reason, string) {
	if existing, ok := p.server().Clients.Get(cl.ID); ok && string(existing.Properties.Username) != user {
		return devices.ReasonSpoofed, "client id belongs to another user's session"
	}
	return "", ""
}

// checkDevice asks the Authenticator, through a short-lived cache of
// successful checks so a reconnect storm does not re-derive every password
// hash. Only successes are cached, keyed by a keyed hash of the password, so
// a new password works at once and an old one stops working within
// authCacheTTL.
func (p *policy) checkDevice(id string, password []byte) (who devices.Principal, ok, registered bool, err error) {
	sum := p.cache.sum(password)
	if who, hit := p.cache.hit(id, sum); hit {
		return who, true, true, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), authTimeout)
	defer cancel()
	ok, registered, err = p.cfg.Auth.CheckDevice(ctx, id, string(password))
	if err != nil || !ok || !registered {
		return who, ok, registered, err
	}
	who = nativeDevice(id)
	if ps, is := p.cfg.Auth.(PrincipalSource); is {
		if who, err = ps.Principal(ctx, id); err != nil {
			return who, false, true, err
		}
	}
	p.cache.put(id, sum, who)
	return who, true, true, nil
}

// authCacheTTL is how long a successful device check is trusted.
const authCacheTTL = 30 * time.Second

// authCache remembers recent successful device checks.
type authCache struct {
	key []byte // random per process: the sums are useless outside it
	now func() time.Time

	mu      sync.Mutex
	entries map[string]authEntry
}

type authEntry struct {
	sum     []byte
	who     devices.Principal
	expires time.Time
}

func newAuthCache(now func() time.Time) *authCache {
	key := make([]byte, 32)
	rand.Read(key)
	return &authCache{key: key, now: now, entries: map[string]authEntry{}}
}

func (c *authCache) sum(password []byte) []byte {
	m := hmac.New(sha256.New, c.key)
	m.Write(password)
	return m.Sum(nil)
}

func (c *authCache) hit(id string, sum []byte) (devices.Principal, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[id]
	if ok && c.now().Before(e.expires) && hmac.Equal(e.sum, sum) {
		return e.who, true
	}
	return devices.Principal{}, false
}

func (c *authCache) put(id string, sum []byte, who devices.Principal) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	if len(c.entries) >= 10_000 { // keep it bounded: drop what has expired
		for k, e := range c.entries {
			if !now.Before(e.expires) {
				delete(c.entries, k)
			}
		}
	}
	c.entries[id] = authEntry{sum: bytes.Clone(sum), who: who, expires: now.Add(authCacheTTL)}
}
