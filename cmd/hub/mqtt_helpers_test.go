package main

import (
	"fmt"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/shouwang-hub/shouwang/devices"
	"github.com/shouwang-hub/shouwang/internal/sim"
)

// spoofPublish connects as dev with its real credentials and publishes on
// victim's telemetry topic, as a compromised device would.
func spoofPublish(brokerURL string, dev sim.DeviceSpec, victim string) error {
	o := paho.NewClientOptions().AddBroker(brokerURL).
		SetClientID(dev.Device.ID).SetUsername(dev.Device.ID).SetPassword(dev.Password).
		SetConnectTimeout(10 * time.Second).SetAutoReconnect(false)
	c := paho.NewClient(o)
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		return fmt.Errorf("spoofer connect: %v", tok.Error())
	}
	defer c.Disconnect(100)
	payload := []byte(`{"seq":999999,"ts":1763800000000,"lel":99}`)
	tok := c.Publish(devices.Topic(victim, devices.ChannelTelemetry), 1, false, payload)
	tok.WaitTimeout(5 * time.Second) // the broker may drop the connection instead of acknowledging
	return nil
}

// strangerConnect tries to connect as a device nobody registered.
func strangerConnect(brokerURL, id string) error {
	return connectOnce(paho.NewClientOptions().AddBroker(brokerURL).SetClientID(id).SetUsername(id).
		SetPassword("guess").SetConnectTimeout(10 * time.Second).SetAutoReconnect(false))
}

// connectOnce connects with o and disconnects, and returns why the broker
// refused it, if it did.
func connectOnce(o *paho.ClientOptions) error {
	c := paho.NewClient(o)
	tok := c.Connect()
	if !tok.WaitTimeout(10 * time.Second) {
		return fmt.Errorf("connect timed out")
	}
	if tok.Error() == nil {
		c.Disconnect(100)
	}
	return tok.Error()
}
