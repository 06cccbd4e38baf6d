package main

import (
	"io"
	"strings"
	"testing"
)

func TestParseConfigDefaultsAndTwins(t *testing.T) {
	c, err := ParseConfig(nil, func(string) string { return "" }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.HTTPAddr != ":8080" || c.MQTTURL != "" || c.MQTTListen != ":1883" || c.DataDir != "./data" ||
		c.DB != "data/hub.db" || c.InfluxBucket != "shouwang/autogen" {
		t.Fatalf("defaults: %+v", c)
	}
	env := map[string]string{
		"HUB_HTTP_ADDR": "127.0.0.1:9000", "HUB_MQTT_URL": "tcp://10.0.0.5:1883", "HUB_DATA_DIR": "/var/lib/shouwang",
		"HUB_INFLUX_URL": "http://influx:8086", "HUB_INFLUX_TOKEN": "u:p", "HUB_INFLUX_ORG": "street",
		"HUB_INFLUX_BUCKET": "sw/rp", "HUB_DB": "/srv/hub.db", "HUB_ADMIN_PASSWORD": "pw", "HUB_MQTT_LISTEN": ":11883",
	}
	c, err = ParseConfig([]string{"-http", ":7000"}, func(k string) string { return env[k] }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.HTTPAddr != ":7000" {
		t.Errorf("a flag must win over its twin: http = %q", c.HTTPAddr)
	}
	if c.MQTTURL != "tcp://10.0.0.5:1883" || c.DataDir != "/var/lib/shouwang" || c.InfluxToken != "u:p" ||
		c.InfluxOrg != "street" || c.InfluxBucket != "sw/rp" || c.DB != "/srv/hub.db" || c.AdminPassword != "pw" ||
		c.MQTTListen != ":11883" || c.InfluxURL != "http://influx:8086" {
		t.Errorf("environment twins not applied: %+v", c)
	}
}

func TestParseConfigNamesTheBadSetting(t *testing.T) {
	cases := []struct {
		args []string
		env  map[string]string
		want string
	}{
		{[]string{"-http", "8080"}, nil, "-http / HUB_HTTP_ADDR"},
		{nil, map[string]string{"HUB_HTTP_ADDR": "localhost:99999"}, "HUB_HTTP_ADDR"},
		{[]string{"-mqtt-url", "http://broker"}, nil, "-mqtt-url / HUB_MQTT_URL"},
		{[]string{"-mqtt-listen", "nope"}, nil, "-mqtt-listen / HUB_MQTT_LISTEN"},
		{[]string{"-influx-url", "influx:8086"}, nil, "-influx-url / HUB_INFLUX_URL"},
		{[]string{"-influx-bucket", ""}, nil, "HUB_INFLUX_BUCKET"},
		{[]string{"-db", "postgres://x"}, nil, "-db / HUB_DB: want postgres://"},
		{[]string{"-db", "postgres://u:pw@db:5432/"}, nil, "(host and database required)"},
		{[]string{"-log-level", "loud"}, nil, "-log-level / HUB_LOG_LEVEL"},
		{[]string{"-mqtt-client-id", "a/b"}, nil, "HUB_MQTT_CLIENT_ID"},
		{[]string{"-shutdown-grace", "soon"}, nil, "HUB_SHUTDOWN_GRACE"},
		{[]string{"stray"}, nil, "unexpected argument"},
		{[]string{"-webhook-url", "ftp://x"}, nil, "-webhook-url / HUB_WEBHOOK_URL"},
		{[]string{"-webhook-url", "https://x/hook"}, map[string]string{"HUB_NOTIFY": "/etc/shouwang/notify.json"}, "-notify / HUB_NOTIFY: use one"},
		// Several instances share PostgreSQL and an external broker.
		{[]string{"-instance", "a", "-mqtt-url", "tcp://b:1883"}, nil, "-instance / HUB_INSTANCE: several instances share one PostgreSQL store"},
		{[]string{"-instance", "a", "-db", "postgres://u:pw@db:5432/hub"}, nil, "the embedded broker lives inside one hub"},
		{[]string{"-instance", "a/b", "-db", "postgres://u:pw@db:5432/hub", "-mqtt-url", "tcp://b:1883"}, nil, "-instance / HUB_INSTANCE \"a/b\""},
		{nil, map[string]string{"HUB_MQTT_FAILOVER": "hope"}, "-mqtt-failover / HUB_MQTT_FAILOVER"},
		{[]string{"-instance", "a", "-db", "postgres://u:pw@db:5432/hub", "-mqtt-url", "tcp://b:1883", "-advertise-url", "10.0.0.1:80"}, nil, "-advertise-url / HUB_ADVERTISE_URL"},
	}
	for _, c := range cases {
		_, err := ParseConfig(c.args, func(k string) string { return c.env[k] }, io.Discard)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ParseConfig(%v, %v) = %v, want an error naming %q", c.args, c.env, err, c.want)
		}
	}
}
