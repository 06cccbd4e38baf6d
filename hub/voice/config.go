package voice

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/pion/stun"
)

// Signaller carries the hub's call signalling to a device: the lead's MQTT
// client, wrapped.
type Signaller interface {
	// SendToDevice publishes payload on shouwang/v1/{deviceID}/call/{sub}
	// (QoS 1); sub is "answer" or "hangup".
	SendToDevice(ctx context.Context, deviceID, sub string, payload []byte) error
}

// Config configures a Manager. Zero values take the defaults below.
type Config struct {
	DataDir    string   // recordings go under DataDir/calls/<call id>/{device,console}.ogg
	MaxCalls   int      // concurrent calls (default 200); beyond it the device gets call/hangup reason busy
	ICEServers []string // stun:, turn: and turns: URLs
	// ICEUsername and ICECredential authenticate to the TURN servers.
	ICEUsername, ICECredential string
	PublicIPs                  []string // 1:1 NAT: the address(es) advertised as host candidates
	// UDPPortMin and UDPPortMax bound the media ports; 0,0 means any.
	UDPPortMin, UDPPortMax uint16
	// PeerTimeout is how long a peer may stay silent or disconnected
	// before its call ends with reason peer_gone (default 5s).
	PeerTimeout time.Duration
	// ConnectTimeout bounds how long an answered console's connection may
	// take to connect: past it (or when it fails first) the answer is
	// released and the call rings again for every console (default 15s).
	ConnectTimeout time.Duration
	// GatherTimeout bounds the wait for ICE gathering before an answer is
	// sent with the candidates found so far (default 5s).
	GatherTimeout time.Duration
	Signaller     Signaller
	// OnEvent receives each call's ringing, answered and ended, in that
	// order per call. It is called from the manager's goroutines and must
	// not block long.
	OnEvent func(CallEvent)
	Now     func() time.Time // default time.Now
}

// Defaults.
const (
	DefaultMaxCalls       = 200
	DefaultPeerTimeout    = 5 * time.Second
	DefaultGatherTimeout  = 5 * time.Second
	DefaultConnectTimeout = 15 * time.Second
)

// withDefaults fills zero values and checks the rest, naming the bad field.
func (c Config) withDefaults() (Config, error) {
	if c.DataDir == "" {
		return c, errors.New("DataDir is required")
	}
	if c.Signaller == nil {
		return c, errors.New("Signaller is required")
	}
	if c.MaxCalls < 0 {
		return c, fmt.Errorf("MaxCalls %d: want a positive number (0 = %d)", c.MaxCalls, DefaultMaxCalls)
	} else if c.MaxCalls == 0 {
		c.MaxCalls = DefaultMaxCalls
	}
	if c.PeerTimeout < 0 {
		return c, fmt.Errorf("PeerTimeout %s: want a positive duration", c.PeerTimeout)
	} else if c.PeerTimeout == 0 {
		c.PeerTimeout = DefaultPeerTimeout
	}
	if c.GatherTimeout < 0 {
		return c, fmt.Errorf("GatherTimeout %s: want a positive duration", c.GatherTimeout)
	} else if c.GatherTimeout == 0 {
		c.GatherTimeout = DefaultGatherTimeout
	}
	if c.ConnectTimeout < 0 {
		return c, fmt.Errorf("ConnectTimeout %s: want a positive duration", c.ConnectTimeout)
	} else if c.ConnectTimeout == 0 {
		c.ConnectTimeout = DefaultConnectTimeout
	}
	if (c.UDPPortMin == 0) != (c.UDPPortMax == 0) || c.UDPPortMin > c.UDPPortMax {
		return c, fmt.Errorf("UDPPortMin/UDPPortMax %d-%d: want both 0 or 0 < min <= max", c.UDPPortMin, c.UDPPortMax)
	}
	for _, ip := range c.PublicIPs {
		if net.ParseIP(ip) == nil {
			return c, fmt.Errorf("PublicIPs %q: not an IP address", ip)
		}
	}
	for _, raw := range c.ICEServers {
		u, err := stun.ParseURI(raw)
		if err != nil {
			return c, fmt.Errorf("ICEServers %q: %w", raw, err)
		}
		if (u.Scheme == stun.SchemeTypeTURN || u.Scheme == stun.SchemeTypeTURNS) && (c.ICEUsername == "" || c.ICECredential == "") {
			return c, fmt.Errorf("ICEUsername/ICECredential: required for the TURN server %q", raw)
		}
	}
	if c.OnEvent == nil {
		c.OnEvent = func(CallEvent) {}
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c, nil
}

// isTURN tells a TURN URL from a STUN one (the URLs are already checked).
func isTURN(raw string) bool {
	return strings.HasPrefix(raw, "turn:") || strings.HasPrefix(raw, "turns:")
}
