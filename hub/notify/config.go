package notify

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"slices"
	"sort"
	"strings"

	"github.com/shouwang-hub/shouwang/alerts"
)

// Channel types.
const (
	TypeWeCom    = "wecom"
	TypeDingTalk = "dingtalk"
	TypeFeishu   = "feishu"
	TypeWebhook  = "webhook"
	TypeSMS      = "sms"
)

// Types lists the channel types.
var Types = []string{TypeWeCom, TypeDingTalk, TypeFeishu, TypeWebhook, TypeSMS}

// Config is the street's notification configuration, read from a JSON
// file:
//
//	{
//	  "public_url": "https://duty.example.org",
//	  "channels": {
//	    "duty-room": {"type": "wecom", "url": "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=…"},
//	    "leaders":   {"type": "dingtalk", "url": "https://oapi.dingtalk.com/robot/send?access_token=…", "secret": "SEC…"},
//	    "sms":       {"type": "sms", "url": "https://sms.example/api/send", "content_type": "application/json",
//	                  "headers": {"Authorization": "Bearer …"},
//	                  "body": "{\"mobile\": \"{{phone}}\", \"content\": \"{{text}}\"}",
//	                  "success_field": "code", "success_value": "0"}
//	  },
//	  "parties": {
//	    "community_duty": {"*": [{"channel": "duty-room"}], "月季社区": [{"channel": "sms", "to": "13800000000"}]},
//	    "street_leader":  {"*": [{"channel": "leaders"}]},
//	    "grid_worker":    {"*": [{"channel": "sms"}]},
//	    "family":         {"*": [{"channel": "sms"}]},
//	    "119":            {"*": [{"channel": "sms", "to": "13900000119", "lang": "zh"}]}
//	  }
//	}
//
// A party's recipients are its community's, else "*"'s. On an SMS channel
// a recipient needs a number — except the household's own parties,
// grid_worker (the grid worker's registered phone) and family (each
// contact the household opted in), whose numbers come from the alert.
// Secrets (robot keys in URLs, signing secrets, gateway headers) are
// configuration: the API never shows them back.
type Config struct {
	PublicURL string                                  `json:"public_url,omitempty"`
	Channels  map[string]ChannelConfig                `json:"channels"`
	Parties   map[string]map[string][]RecipientConfig `json:"parties"`
}

// ChannelConfig is one channel.
type ChannelConfig struct {
	Type   string `json:"type"`
	URL    string `json:"url"`
	Secret string `json:"secret,omitempty"` // dingtalk, feishu: the robot's signing secret
	// An SMS gateway's request: Method (POST by default), Headers, and a
	// Body template (or placeholders in the URL) with {{phone}}, {{text}},
	// {{alert}} and {{level}}, each escaped for where it stands (JSON
	// string, form value or URL query). Success is a 2xx status and, if
	// SuccessField is set, that top-level JSON field of the answer equal
	// to SuccessValue.
	Method       string            `json:"method,omitempty"`
	Headers      map[string]string `json:"headers,omitempty"`
	Body         string            `json:"body,omitempty"`
	ContentType  string            `json:"content_type,omitempty"`
	SuccessField string            `json:"success_field,omitempty"`
	SuccessValue string            `json:"success_value,omitempty"`
	// Lang is the language messages on the channel are written in unless a
	// recipient says otherwise: zh (the default) or en.
	Lang string `json:"lang,omitempty"`
}

// RecipientConfig is one recipient of a party: a channel, a number where
// the channel needs one, and a language.
type RecipientConfig struct {
	Channel string `json:"channel"`
	To      string `json:"to,omitempty"`
	Lang    string `json:"lang,omitempty"`
}

// anyCommunity is the key of a party's recipients everywhere.
const anyCommunity = "*"

// householdParties are told at the household's own numbers.
var householdParties = []string{alerts.PartyGridWorker, alerts.PartyFamily}

// maxConfigSize bounds the configuration file.
const maxConfigSize = 1 << 20

// Load reads a configuration file and checks it; errors name the bad field.
func Load(r io.Reader) (Config, error) {
	var c Config
	dec := json.NewDecoder(io.LimitReader(r, maxConfigSize))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return c, fmt.Errorf("notify config: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return c, errors.New("notify config: unexpected data after the JSON object")
	}
	return c, c.Validate()
}

// FromWebhook is the configuration -webhook-url alone makes: the street's
// duty leader told, as before, on one generic webhook.
func FromWebhook(u string) Config {
	return Config{
		Channels: map[string]ChannelConfig{"webhook": {Type: TypeWebhook, URL: u}},
		Parties:  map[string]map[string][]RecipientConfig{alerts.PartyStreetLeader: {anyCommunity: {{Channel: "webhook"}}}},
	}
}

// Validate checks the configuration and names the first bad field.
func (c Config) Validate() error {
	if c.PublicURL != "" {
		if u, err := url.Parse(c.PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("notify config: public_url %q: want an http(s) URL", c.PublicURL)
		}
	}
	for _, name := range sortedKeys(c.Channels) {
		if err := c.Channels[name].validate(); err != nil {
			return fmt.Errorf("notify config: channels[%q]: %w", name, err)
		}
	}
	for _, party := range sortedKeys(c.Parties) {
		if !slices.Contains(alerts.Parties, party) {
			return fmt.Errorf("notify config: parties[%q]: not a party (want %s)", party, strings.Join(alerts.Parties, ", "))
		}
		for _, community := range sortedKeys(c.Parties[party]) {
			for i, r := range c.Parties[party][community] {
				p := fmt.Sprintf("notify config: parties[%q][%q][%d]", party, community, i)
				ch, ok := c.Channels[r.Channel]
				switch {
				case !ok:
					return fmt.Errorf("%s: channel %q is not configured", p, r.Channel)
				case r.Lang != "" && r.Lang != "zh" && r.Lang != "en":
					return fmt.Errorf("%s: lang %q: zh or en", p, r.Lang)
				case ch.Type == TypeSMS && r.To == "" && !slices.Contains(householdParties, party):
					return fmt.Errorf("%s: an SMS channel needs a number (to)", p)
				case ch.Type != TypeSMS && r.To != "":
					return fmt.Errorf("%s: to: only an SMS channel sends to a number", p)
				}
			}
		}
	}
	return nil
}

func (ch ChannelConfig) validate() error {
	if !slices.Contains(Types, ch.Type) {
		return fmt.Errorf("type %q: want %s", ch.Type, strings.Join(Types, ", "))
	}
	u, err := url.Parse(strings.NewReplacer("{{phone}}", "x", "{{text}}", "x", "{{alert}}", "1", "{{level}}", "1").Replace(ch.URL))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return errors.New("url: want an http(s) URL")
	}
	if ch.Lang != "" && ch.Lang != "zh" && ch.Lang != "en" {
		return fmt.Errorf("lang %q: zh or en", ch.Lang)
	}
	switch ch.Type {
	case TypeSMS:
		if !strings.Contains(ch.Body+ch.URL, "{{phone}}") || !strings.Contains(ch.Body+ch.URL, "{{text}}") {
			return errors.New("an SMS gateway's url or body must place {{phone}} and {{text}}")
		}
		if m := strings.ToUpper(ch.Method); m != "" && m != "POST" && m != "GET" && m != "PUT" {
			return fmt.Errorf("method %q: GET, POST or PUT", ch.Method)
		}
	default:
		if ch.Method != "" || ch.Body != "" || len(ch.Headers) > 0 || ch.SuccessField != "" {
			return errors.New("method, headers, body and success_field are an SMS gateway's")
		}
	}
	if ch.Secret != "" && ch.Type != TypeDingTalk && ch.Type != TypeFeishu {
		return errors.New("secret: only DingTalk and Feishu robots sign")
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
