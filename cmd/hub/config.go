package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Config is the hub's configuration. Every flag has an environment twin;
// a flag given on the command line wins over its twin.
type Config struct {
	HTTPAddr       string
	MQTTURL        string // external broker; empty means the embedded one
	MQTTListen     string // embedded broker listener
	MQTTUsername   string // the hub's service credential on an external broker
	MQTTPassword   string
	MQTTClientID   string
	InfluxURL      string
	InfluxToken    string
	InfluxOrg      string
	InfluxBucket   string
	DataDir        string
	DB             string
	AdminPassword  string
	LogLevel       string
	LogFormat      string
	SpoolWarnDepth int64
	ShutdownGrace  time.Duration
	RulesFile      string // alert rules, supervision and escalation (JSON); empty: the defaults
	WebhookURL     string // level-2 escalations are POSTed here (when NotifyFile is empty)
	NotifyFile     string // notification channels and who each party is (JSON; hub/notify)

	MaxCalls      int      // concurrent voice calls relayed
	ICEServers    []string // stun:/turn: URLs
	ICEUsername   string   // TURN credentials
	ICECredential string
	PublicIPs     []string // 1:1 NAT: the address(es) WebRTC advertises
	UDPPortMin    uint16   // WebRTC media ports; 0,0 = any
	UDPPortMax    uint16
	CallRetention time.Duration // recordings older than this are deleted; 0 keeps them

	TLS TLSSettings // HTTPS and MQTT over TLS (tls.go)
	Web WebSettings // behind a reverse proxy (tls.go)

	Broker BrokerSettings // an external broker's accounts (brokeracct.go)

	Instance InstanceSettings // several instances (instances.go)
}

// env pairs each flag with its environment twin.
var env = map[string]string{
	"http":             "HUB_HTTP_ADDR",
	"mqtt-url":         "HUB_MQTT_URL",
	"mqtt-listen":      "HUB_MQTT_LISTEN",
	"mqtt-username":    "HUB_MQTT_USERNAME",
	"mqtt-password":    "HUB_MQTT_PASSWORD",
	"mqtt-client-id":   "HUB_MQTT_CLIENT_ID",
	"influx-url":       "HUB_INFLUX_URL",
	"influx-token":     "HUB_INFLUX_TOKEN",
	"influx-org":       "HUB_INFLUX_ORG",
	"influx-bucket":    "HUB_INFLUX_BUCKET",
	"data":             "HUB_DATA_DIR",
	"db":               "HUB_DB",
	"admin-password":   "HUB_ADMIN_PASSWORD",
	"log-level":        "HUB_LOG_LEVEL",
	"log-format":       "HUB_LOG_FORMAT",
	"spool-warn-depth": "HUB_SPOOL_WARN_DEPTH",
	"shutdown-grace":   "HUB_SHUTDOWN_GRACE",
	"rules":            "HUB_RULES",
	"webhook-url":      "HUB_WEBHOOK_URL",
	"notify":           "HUB_NOTIFY",
	"max-calls":        "HUB_MAX_CALLS",
	"ice-servers":      "HUB_ICE_SERVERS",
	"ice-username":     "HUB_ICE_USERNAME",
	"ice-credential":   "HUB_ICE_CREDENTIAL",
	"public-ips":       "HUB_PUBLIC_IPS",
	"udp-ports":        "HUB_UDP_PORTS",
	"call-retention":   "HUB_CALL_RETENTION",
}

// ParseConfig reads flags from args with defaults taken from the
// environment through getenv, then validates the result.
func ParseConfig(args []string, getenv func(string) string, stderr io.Writer) (Config, error) {
	var c Config
	fs := flag.NewFlagSet("hub", flag.ContinueOnError)
	fs.SetOutput(stderr)
	str := func(p *string, name, def, usage string) {
		if v := getenv(env[name]); v != "" {
			def = v
		}
		fs.StringVar(p, name, def, usage+" ($"+env[name]+")")
	}
	str(&c.HTTPAddr, "http", ":8080", "HTTP listen address for the console, API and metrics")
	str(&c.MQTTURL, "mqtt-url", "", "external MQTT broker, e.g. tcp://127.0.0.1:1883; empty runs the embedded broker")
	str(&c.MQTTListen, "mqtt-listen", ":1883", "embedded broker listen address")
	str(&c.MQTTUsername, "mqtt-username", "hub", "the hub's username on an external broker")
	str(&c.MQTTPassword, "mqtt-password", "", "the hub's password on an external broker")
	str(&c.MQTTClientID, "mqtt-client-id", "shouwang-hub", "the hub's MQTT client ID; keep it stable, the persistent session is keyed by it")
	str(&c.InfluxURL, "influx-url", "http://127.0.0.1:8086", "InfluxDB URL")
	str(&c.InfluxToken, "influx-token", "", "InfluxDB token (for 1.8: user:password, or empty)")
	str(&c.InfluxOrg, "influx-org", "", "InfluxDB organisation (ignored by 1.8)")
	str(&c.InfluxBucket, "influx-bucket", "shouwang/autogen", "InfluxDB bucket (for 1.8: database/retention-policy)")
	str(&c.DataDir, "data", "./data", "data directory: database, spool, broker state")
	str(&c.DB, "db", "", "SQL store: a SQLite file path (default <data>/hub.db) or postgres://user:password@host/database")
	str(&c.AdminPassword, "admin-password", "", "creates the admin account on first start")
	str(&c.LogLevel, "log-level", "info", "log level: debug, info, warn, error")
	str(&c.LogFormat, "log-format", "text", "log format: text or json")
	str(&c.RulesFile, "rules", "", "alert rules file (JSON): thresholds per kind and device, supervision, escalation; empty uses the defaults")
	str(&c.WebhookURL, "webhook-url", "", "URL that level-2 (unanswered) alerts are POSTed to, when -notify is not set")
	str(&c.NotifyFile, "notify", "", "notification configuration (JSON): channels (WeCom, DingTalk, Feishu, webhook, SMS gateway) and who each party is per community")
	var maxCalls, iceServers, publicIPs, udpPorts, retention string
	str(&maxCalls, "max-calls", "200", "voice calls relayed at once; a device calling beyond it hears busy")
	str(&iceServers, "ice-servers", "", "comma-separated STUN/TURN URLs for voice calls, e.g. stun:stun.example.org:3478,turn:turn.example.org:3478")
	str(&c.ICEUsername, "ice-username", "", "TURN username")
	str(&c.ICECredential, "ice-credential", "", "TURN credential")
	str(&publicIPs, "public-ips", "", "comma-separated public IP addresses to advertise for voice (1:1 NAT)")
	str(&udpPorts, "udp-ports", "", "UDP port range for voice media, e.g. 40000-40999 (empty: any)")
	str(&retention, "call-retention", "2160h", "how long call recordings are kept (0 keeps them)")
	finishTLS := tlsFlags(str, &c)
	brokerFlags(str, &c)
	instanceFlags(str, &c)
	var depth, grace string
	str(&depth, "spool-warn-depth", "5000000", "warn when this many telemetry lines wait for InfluxDB")
	str(&grace, "shutdown-grace", "20s", "how long shutdown may take to drain before abandoning (unacknowledged) work")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if err := finishTLS(); err != nil {
		return c, err
	}
	var err error
	if _, err = fmt.Sscan(depth, &c.SpoolWarnDepth); err != nil || c.SpoolWarnDepth <= 0 {
		return c, fmt.Errorf("-spool-warn-depth / HUB_SPOOL_WARN_DEPTH %q: want a positive number", depth)
	}
	if c.ShutdownGrace, err = time.ParseDuration(grace); err != nil || c.ShutdownGrace <= 0 {
		return c, fmt.Errorf("-shutdown-grace / HUB_SHUTDOWN_GRACE %q: want a positive duration such as 20s", grace)
	}
	if _, err = fmt.Sscan(maxCalls, &c.MaxCalls); err != nil || c.MaxCalls <= 0 {
		return c, fmt.Errorf("-max-calls / HUB_MAX_CALLS %q: want a positive number", maxCalls)
	}
	c.ICEServers = splitList(iceServers)
	for _, u := range c.ICEServers {
		if !strings.HasPrefix(u, "stun:") && !strings.HasPrefix(u, "turn:") && !strings.HasPrefix(u, "turns:") {
			return c, fmt.Errorf("-ice-servers / HUB_ICE_SERVERS %q: want stun:, turn: or turns: URLs", u)
		}
	}
	c.PublicIPs = splitList(publicIPs)
	for _, ip := range c.PublicIPs {
		if net.ParseIP(ip) == nil {
			return c, fmt.Errorf("-public-ips / HUB_PUBLIC_IPS %q: not an IP address", ip)
		}
	}
	if udpPorts != "" {
		var lo, hi int
		if n, err := fmt.Sscanf(udpPorts, "%d-%d", &lo, &hi); err != nil || n != 2 || lo < 1 || hi > 65535 || lo > hi {
			return c, fmt.Errorf("-udp-ports / HUB_UDP_PORTS %q: want a range such as 40000-40999", udpPorts)
		}
		c.UDPPortMin, c.UDPPortMax = uint16(lo), uint16(hi)
	}
	if c.CallRetention, err = time.ParseDuration(retention); err != nil || c.CallRetention < 0 {
		return c, fmt.Errorf("-call-retention / HUB_CALL_RETENTION %q: want a duration such as 2160h (90 days), or 0", retention)
	}
	if c.DB == "" {
		c.DB = filepath.Join(c.DataDir, "hub.db")
	}
	return c, c.Validate()
}

// Validate checks the configuration and names the first bad setting.
func (c Config) Validate() error {
	if err := checkAddr(c.HTTPAddr); err != nil && c.HTTPAddr != off {
		return fmt.Errorf("-http / HUB_HTTP_ADDR %q: %w", c.HTTPAddr, err)
	}
	if c.MQTTURL == "" {
		if err := checkAddr(c.MQTTListen); err != nil && c.MQTTListen != off {
			return fmt.Errorf("-mqtt-listen / HUB_MQTT_LISTEN %q: %w", c.MQTTListen, err)
		}
	} else if u, err := url.Parse(c.MQTTURL); err != nil || !slices.Contains([]string{"tcp", "mqtt", "ssl", "tls", "mqtts", "ws", "wss"}, u.Scheme) || u.Host == "" {
		return fmt.Errorf("-mqtt-url / HUB_MQTT_URL %q: want a broker URL such as tcp://127.0.0.1:1883", c.MQTTURL)
	}
	if c.MQTTClientID == "" || strings.ContainsAny(c.MQTTClientID, "/+# ") {
		return fmt.Errorf("-mqtt-client-id / HUB_MQTT_CLIENT_ID %q: must be non-empty without '/', '+', '#' or spaces", c.MQTTClientID)
	}
	if u, err := url.Parse(c.InfluxURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("-influx-url / HUB_INFLUX_URL %q: want an http(s) URL such as http://127.0.0.1:8086", c.InfluxURL)
	}
	if c.InfluxBucket == "" {
		return errors.New("-influx-bucket / HUB_INFLUX_BUCKET: required (for InfluxDB 1.8: database/retention-policy, e.g. shouwang/autogen)")
	}
	if c.DataDir == "" {
		return errors.New("-data / HUB_DATA_DIR: required")
	}
	if l := strings.ToLower(c.DB); strings.HasPrefix(l, "postgres://") || strings.HasPrefix(l, "postgresql://") {
		if u, err := url.Parse(c.DB); err != nil || u.Host == "" || strings.Trim(u.Path, "/") == "" {
			return errors.New("-db / HUB_DB: want postgres://user:password@host:5432/database?sslmode=… (host and database required)")
		}
	}
	if c.WebhookURL != "" && c.NotifyFile != "" {
		return errors.New("-webhook-url / HUB_WEBHOOK_URL and -notify / HUB_NOTIFY: use one; name the webhook as a channel of the -notify file")
	}
	if c.WebhookURL != "" {
		if u, err := url.Parse(c.WebhookURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("-webhook-url / HUB_WEBHOOK_URL %q: want an http(s) URL", c.WebhookURL)
		}
	}
	if _, err := parseLevel(c.LogLevel); err != nil {
		return fmt.Errorf("-log-level / HUB_LOG_LEVEL %q: %w", c.LogLevel, err)
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		return fmt.Errorf("-log-format / HUB_LOG_FORMAT %q: want text or json", c.LogFormat)
	}
	if err := c.validateBroker(); err != nil {
		return err
	}
	if err := c.validateInstance(); err != nil {
		return err
	}
	return c.validateTLS()
}

func checkAddr(addr string) error {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return errors.New("want host:port or :port")
	}
	var p int
	if _, err := fmt.Sscan(port, &p); err != nil || p < 0 || p > 65535 {
		return errors.New("bad port")
	}
	return nil
}

func parseLevel(s string) (slog.Level, error) {
	var l slog.Level
	err := l.UnmarshalText([]byte(s))
	return l, err
}

// splitList splits a comma-separated setting, dropping empty items.
func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
