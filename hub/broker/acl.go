package broker

import (
	mqtt "github.com/mochi-mqtt/server/v2"

	"github.com/shouwang-hub/shouwang/devices"
)

// The embedded broker's topic rules are the domain's (devices.Policy): the
// one policy every broker the hub works with is given. This file only says
// who a client is to that policy.

// ReasonBadCredentials is the rejection reason for a connect with a missing
// or wrong password. It is not a payload rejection, so it lives here rather
// than in devices.Reasons.
const ReasonBadCredentials devices.Reason = "bad_credentials"

// principal returns who cl is to the topic policy: the service, or the
// device or gateway it authenticated as.
func (p *policy) principal(cl *mqtt.Client) devices.Principal {
	if p.isService(cl) {
		svc := devices.Principal{Role: devices.RoleService}
		if p.cfg.Roots != nil {
			svc.Roots = p.cfg.Roots()
		}
		return svc
	}
	if v, ok := p.principals.Load(cl.ID); ok {
		return v.(devices.Principal)
	}
	return nativeDevice(cl.ID)
}

func nativeDevice(id string) devices.Principal {
	return devices.Principal{Role: devices.RoleDevice, ID: id, Source: devices.SourceNative}
}

// mayPublish decides a publish by cl on topic.
func (p *policy) mayPublish(cl *mqtt.Client, topic string) (bool, devices.Reason) {
	return p.cfg.Policy.MayPublish(p.principal(cl), topic)
}

// mayRead decides a subscription (or a delivery) of filter for cl.
func (p *policy) mayRead(cl *mqtt.Client, filter string) (bool, devices.Reason) {
	return p.cfg.Policy.MayRead(p.principal(cl), filter)
}
