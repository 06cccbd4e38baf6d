package broker

import (
	"github.com/shouwang-hub/shouwang/devices"
)

// The embedded broker's topic rules are the domain's (devices.Policy): the
// one policy every broker the hub works with is given. This file only says
// who a client is to that policy.

// ReasonBadCredentials is the rejection reason for a connect with a missing
// or wrong password. It is not a payload rejection, so it lives here rather
// than in devices.Reasons.
const ReasonBadCredentials devices.Reason = "bad_credentials"

// topicPolicy is the policy of the codecs the broker serves.
var topicPolicy = devices.NewPolicy()

var service = devices.Principal{Role: devices.RoleService}

func nativeDevice(id string) devices.Principal {
	return devices.Principal{Role: devices.RoleDevice, ID: id, Source: devices.SourceNative}
}

// serviceMayPublish reports whether the hub's client may publish on topic:
// a device's cmd topic or one of its call/... topics.
func serviceMayPublish(topic string) bool {
	ok, _ := topicPolicy.MayPublish(service, topic)
	return ok
}

// serviceMayRead reports whether the hub's client may subscribe to filter
// (or receive a message on a topic, which is a filter without wildcards).
func serviceMayRead(filter string) bool {
	ok, _ := topicPolicy.MayRead(service, filter)
	return ok
}

// deviceMayPublish decides a publish by device id on topic.
func deviceMayPublish(id, topic string) (bool, devices.Reason) {
	return topicPolicy.MayPublish(nativeDevice(id), topic)
}

// deviceMayRead decides a subscription (or a delivery) of filter for device id.
func deviceMayRead(id, filter string) (bool, devices.Reason) {
	return topicPolicy.MayRead(nativeDevice(id), filter)
}

// deviceWillOK reports whether a device's last will is on a topic it may
// leave one on.
func deviceWillOK(id, topic string) bool {
	return topicPolicy.WillAllowed(nativeDevice(id), topic)
}

// ownerReason classifies a refused will topic.
func ownerReason(id, topic string) devices.Reason {
	return devices.RefusalReason(nativeDevice(id), topic)
}
