package main

import (
	"io"
	"strings"
	"testing"
)

func TestBrokerSettings(t *testing.T) {
	env := map[string]string{"HUB_MQTT_URL": "tcp://mosquitto:1883", "HUB_EMQX_SECRET": "0123456789abcdef0123",
		"HUB_MOSQUITTO_DIR": "/etc/mosquitto/shouwang", "HUB_MOSQUITTO_PIDFILE": "/run/mosquitto/mosquitto.pid"}
	c, err := ParseConfig(nil, func(k string) string { return env[k] }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.Broker.EMQXSecret != env["HUB_EMQX_SECRET"] || c.Broker.MosquittoDir != env["HUB_MOSQUITTO_DIR"] || c.Broker.MosquittoPIDFile != env["HUB_MOSQUITTO_PIDFILE"] {
		t.Errorf("twins not applied: %+v", c.Broker)
	}
	for _, bad := range []struct {
		args []string
		want string
	}{
		{[]string{"-mqtt-url", "tcp://b:1883", "-emqx-secret", "short"}, "-emqx-secret / HUB_EMQX_SECRET"},
		{[]string{"-emqx-secret", "0123456789abcdef0123"}, "-mqtt-url"},
		{[]string{"-mosquitto-dir", "/x"}, "-mosquitto-dir / HUB_MOSQUITTO_DIR"},
		{[]string{"-mqtt-url", "tcp://b:1883", "-mosquitto-pidfile", "/run/m.pid"}, "-mosquitto-pidfile / HUB_MOSQUITTO_PIDFILE"},
	} {
		if _, err := ParseConfig(bad.args, func(string) string { return "" }, io.Discard); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("ParseConfig(%v) = %v, want an error naming %q", bad.args, err, bad.want)
		}
	}
}
