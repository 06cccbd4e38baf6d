package hub

import (
	"context"

	"github.com/shouwang-hub/shouwang"
	"github.com/shouwang-hub/shouwang/devices"
)

// PasswordSource looks up a device's MQTT password hash and its record.
type PasswordSource interface {
	PasswordHash(ctx context.Context, id string) (string, error)
	FindDevice(ctx context.Context, id string) (*devices.Device, error)
}

// DeviceAuthenticator checks device credentials against the registry for
// the embedded broker.
type DeviceAuthenticator struct {
	Source PasswordSource
}

// CheckDevice reports whether password is the MQTT password of device id;
// registered is false when no such device exists.
func (a DeviceAuthenticator) CheckDevice(ctx context.Context, id, password string) (ok, registered bool, err error) {
	hash, err := a.Source.PasswordHash(ctx, id)
	if shouwang.ErrorCode(err) == shouwang.ENOTFOUND {
		return false, false, nil
	} else if err != nil {
		return false, false, err
	}
	return devices.CheckPassword(hash, password), true, nil
}

// Principal returns who device id is to the topic policy: a native device,
// a Shelly under its prefix, a Zigbee2MQTT bridge under its base topic.
func (a DeviceAuthenticator) Principal(ctx context.Context, id string) (devices.Principal, error) {
	d, err := a.Source.FindDevice(ctx, id)
	if err != nil {
		return devices.Principal{}, err
	}
	return PrincipalOf(d), nil
}

// PrincipalOf is who a registered device is to the topic policy.
func PrincipalOf(d *devices.Device) devices.Principal {
	p := devices.Principal{Role: devices.RoleDevice, ID: d.ID, Source: d.Source, Root: d.Address}
	if p.Source == "" {
		p.Source = devices.SourceNative
	}
	if d.Kind == devices.KindGateway {
		p.Role = devices.RoleGateway
	}
	return p
}
