package main

import (
	"io"
	"net/netip"
	"slices"
	"strings"
	"testing"
)

func TestTLSSettingsAndTheirTwins(t *testing.T) {
	c, err := ParseConfig(nil, func(string) string { return "" }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.TLS.Mode != tlsOff || c.TLS.On() || c.TLS.HTTPSAddr != ":8443" || c.TLS.MQTTListen != ":8883" {
		t.Errorf("defaults: %+v", c.TLS)
	}
	env := map[string]string{
		"HUB_TLS": "auto", "HUB_TLS_NAMES": "duty.street.lan, 192.168.1.10", "HUB_HTTPS_ADDR": ":443",
		"HUB_MQTT_TLS_LISTEN": ":18883", "HUB_PUBLIC_URL": "https://duty.street.lan",
		"HUB_TRUSTED_PROXIES": "127.0.0.1, 10.0.0.0/8, ::1",
	}
	c, err = ParseConfig(nil, func(k string) string { return env[k] }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.TLS.Mode != tlsAuto || !slices.Equal(c.TLS.Names, []string{"duty.street.lan", "192.168.1.10"}) || c.TLS.HTTPSAddr != ":443" ||
		c.TLS.MQTTListen != ":18883" || c.Web.PublicURL != "https://duty.street.lan" {
		t.Errorf("twins not applied: %+v %+v", c.TLS, c.Web)
	}
	want := []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32"), netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	if !slices.Equal(c.Web.TrustedProxies, want) {
		t.Errorf("trusted proxies %v, want %v", c.Web.TrustedProxies, want)
	}
	// Certificate files imply the files mode.
	c, err = ParseConfig([]string{"-tls-cert", "/etc/shouwang/hub.crt", "-tls-key", "/etc/shouwang/hub.key", "-mqtt-listen", "off", "-http", "off"},
		func(string) string { return "" }, io.Discard)
	if err != nil || c.TLS.Mode != tlsFiles {
		t.Errorf("-tls-cert and -tls-key: mode %q, %v", c.TLS.Mode, err)
	}
}

func TestTLSSettingsNameTheBadOne(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"-tls", "on"}, "-tls / HUB_TLS"},
		{[]string{"-tls-cert", "/c"}, "-tls-key / HUB_TLS_KEY"},
		{[]string{"-tls", "auto", "-tls-cert", "/c", "-tls-key", "/k"}, "-tls-cert / HUB_TLS_CERT"},
		{[]string{"-tls", "off", "-tls-key", "/k"}, "-tls / HUB_TLS off"},
		{[]string{"-tls-names", "hub.lan"}, "-tls-names / HUB_TLS_NAMES"},
		{[]string{"-tls", "auto", "-tls-names", "hub.lan:8443"}, "-tls-names / HUB_TLS_NAMES"},
		{[]string{"-tls", "auto", "-https", "8443"}, "-https / HUB_HTTPS_ADDR"},
		{[]string{"-tls", "auto", "-https", ":8080"}, "-https / HUB_HTTPS_ADDR"},
		{[]string{"-tls", "auto", "-mqtt-tls-listen", "x"}, "-mqtt-tls-listen / HUB_MQTT_TLS_LISTEN"},
		{[]string{"-http", "off"}, "-http / HUB_HTTP_ADDR off"},
		{[]string{"-mqtt-listen", "off"}, "-mqtt-listen / HUB_MQTT_LISTEN off"},
		{[]string{"-tls", "auto", "-mqtt-listen", "off", "-mqtt-tls-listen", "off"}, "-mqtt-listen / HUB_MQTT_LISTEN off"},
		{[]string{"-mqtt-cafile", "/ca.crt", "-mqtt-url", "tcp://broker:1883"}, "-mqtt-cafile / HUB_MQTT_CAFILE"},
		{[]string{"-public-url", "duty.street.lan"}, "-public-url / HUB_PUBLIC_URL"},
		{[]string{"-public-url", "https://duty.street.lan/console"}, "-public-url / HUB_PUBLIC_URL"},
		{[]string{"-trusted-proxies", "nginx"}, "-trusted-proxies / HUB_TRUSTED_PROXIES"},
	}
	for _, c := range cases {
		_, err := ParseConfig(c.args, func(string) string { return "" }, io.Discard)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ParseConfig(%v) = %v, want an error naming %q", c.args, err, c.want)
		}
	}
}

// A certificate file that does not load stops the start, naming the
// setting.
func TestTLSFilesThatDoNotLoad(t *testing.T) {
	m := NewMain()
	m.Stderr = io.Discard
	dir := t.TempDir()
	if err := m.ParseFlags([]string{"-data", dir, "-tls-cert", dir + "/missing.crt", "-tls-key", dir + "/missing.key",
		"-http", "127.0.0.1:0", "-https", "127.0.0.1:0", "-mqtt-listen", "127.0.0.1:0", "-mqtt-tls-listen", "127.0.0.1:0"},
		func(string) string { return "" }); err != nil {
		t.Fatal(err)
	}
	m.Logger = quietLogger()
	err := m.Run(t.Context())
	m.Close()
	if err == nil || !strings.Contains(err.Error(), "-tls-cert / HUB_TLS_CERT") || !strings.Contains(err.Error(), "missing.crt") {
		t.Errorf("start with a missing certificate: %v", err)
	}
}
