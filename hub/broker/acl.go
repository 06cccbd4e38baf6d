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

// acl returns cl's compiled rules: the service's, or those of the device
// or gateway it authenticated as (compiled once, at connect).
func (p *policy) acl(cl *mqtt.Client) *devices.ACL {
	if p.isService(cl) {
		return p.service.Load()
	}
	if v, ok := p.principals.Load(cl.ID); ok {
		return v.(*devices.ACL)
	}
	return p.cfg.Policy.Compile(nativeDevice(cl.ID))
}

// setRoots compiles the service's rules for the vendor roots it reads.
func (p *policy) setRoots(roots []devices.Root) {
	p.service.Store(p.cfg.Policy.Compile(devices.Principal{Role: devices.RoleService, Roots: roots}))
}

func nativeDevice(id string) devices.Principal {
	return devices.Principal{Role: devices.RoleDevice, ID: id, Source: devices.SourceNative}
}

// mayPublish decides a publish by cl on topic.
func (p *policy) mayPublish(cl *mqtt.Client, topic string) (bool, devices.Reason) {
	return p.acl(cl).MayPublish(topic)
}

// mayRead decides a subscription (or a delivery) of filter for cl.
func (p *policy) mayRead(cl *mqtt.Client, filter string) (bool, devices.Reason) {
	return p.acl(cl).MayRead(filter)
}
