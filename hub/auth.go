package hub

import (
	"context"

	"github.com/shouwang-hub/shouwang"
	"github.com/shouwang-hub/shouwang/devices"
)

// PasswordSource looks up a device's MQTT password hash.
type PasswordSource interface {
	PasswordHash(ctx context.Context, id string) (string, error)
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
