package notify

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/shouwang-hub/shouwang"
	"github.com/shouwang-hub/shouwang/alerts"
)

// Options are a Notifier's settings beside its configuration.
type Options struct {
	// Client sends the requests; nil means one with a 10 s timeout.
	Client *http.Client
	// Now is the clock signatures are made with; nil means time.Now.
	Now func() time.Time
	// Location is where message times are written; nil means time.Local.
	Location *time.Location
	// PublicURL is the console's address for links in messages, unless the
	// configuration names one.
	PublicURL string
}

// Notifier delivers notifications on the configured channels and says who
// each party is (it is the alerts.Directory of the hub).
type Notifier struct {
	cfg      Config
	opt      Options
	channels map[string]sender
}

// sender sends one message on one channel. It returns the HTTP status and,
// for a failure the status does not tell (a provider's refusal with 200,
// no answer), an *alerts.NotifyError or the transport's error.
type sender interface {
	send(ctx context.Context, m message) (int, error)
}

// New checks cfg and returns a Notifier.
func New(cfg Config, opt Options) (*Notifier, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if opt.Client == nil {
		opt.Client = &http.Client{Timeout: 10 * time.Second}
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Location == nil {
		opt.Location = time.Local
	}
	if cfg.PublicURL != "" {
		opt.PublicURL = cfg.PublicURL
	}
	n := &Notifier{cfg: cfg, opt: opt, channels: map[string]sender{}}
	for name, ch := range cfg.Channels {
		b := base{client: opt.Client, url: ch.URL, now: opt.Now}
		switch ch.Type {
		case TypeWeCom:
			n.channels[name] = wecom{b}
		case TypeDingTalk:
			n.channels[name] = dingtalk{b, ch.Secret}
		case TypeFeishu:
			n.channels[name] = feishu{b, ch.Secret}
		case TypeWebhook:
			n.channels[name] = webhook{b}
		case TypeSMS:
			n.channels[name] = sms{b, ch}
		}
	}
	return n, nil
}

// Recipients implements alerts.Directory: a party's recipients in the
// alert's community (else everywhere), with the household's own numbers
// for grid_worker and family.
func (n *Notifier) Recipients(party string, a *alerts.Alert) ([]alerts.Recipient, string) {
	byCommunity := n.cfg.Parties[party]
	rcs, ok := byCommunity[a.Device.Location.Community]
	if !ok {
		rcs = byCommunity[anyCommunity]
	}
	if len(rcs) == 0 {
		return nil, alerts.NotConfigured
	}
	var out []alerts.Recipient
	why := alerts.NoRecipient
	for _, rc := range rcs {
		ch := n.cfg.Channels[rc.Channel]
		r := alerts.Recipient{Party: party, Channel: rc.Channel, To: rc.To, Lang: firstOf(rc.Lang, ch.Lang, "zh")}
		if ch.Type != TypeSMS || rc.To != "" {
			out = append(out, r)
			continue
		}
		switch party {
		case alerts.PartyGridWorker:
			if a.Device.GridWorker.Phone == "" {
				why = alerts.NoPhone
				continue
			}
			r.To = a.Device.GridWorker.Phone
			out = append(out, r)
		case alerts.PartyFamily:
			for _, c := range a.Device.Contacts {
				if c.NotifySOS && c.Phone != "" {
					r.To = c.Phone
					out = append(out, r)
				}
			}
		}
	}
	if len(out) > 0 {
		why = alerts.NoRecipient
	}
	return out, why
}

func firstOf(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}

// Deliver sends one notification: its message (the alert, as the domain
// queued it) in the recipient's language on its channel. The status and
// error go to alerts' NotificationResult.
func (n *Notifier) Deliver(ctx context.Context, note *alerts.Notification) (int, error) {
	s, ok := n.channels[note.Channel]
	if !ok {
		return 0, &alerts.NotifyError{Code: alerts.NotifyErrorUnrouted, Detail: fmt.Sprintf("channel %q is not configured", note.Channel)}
	}
	var m alerts.Message
	if err := json.Unmarshal(note.Payload, &m); err != nil {
		return 0, &alerts.NotifyError{Code: alerts.NotifyErrorUnrouted, Detail: "unreadable message: " + err.Error()}
	}
	msg := render(m, note.Lang, n.opt.PublicURL, n.opt.Location)
	msg.To = note.To
	msg.Key = "shouwang-notification-" + strconv.FormatInt(note.ID, 10)
	return s.send(ctx, msg)
}

// ChannelInfo is a channel as the console shows it: never its secrets.
type ChannelInfo struct {
	Name    string   `json:"name"`
	Type    string   `json:"type"`
	URL     string   `json:"url"`              // query values and gateway paths' secrets masked
	Signed  bool     `json:"signed,omitempty"` // a signing secret is set
	Parties []string `json:"parties"`          // the parties it tells
}

// Channels lists the configured channels, by name, with their secrets
// masked.
func (n *Notifier) Channels() []ChannelInfo {
	out := []ChannelInfo{}
	for _, name := range sortedKeys(n.cfg.Channels) {
		ch := n.cfg.Channels[name]
		info := ChannelInfo{Name: name, Type: ch.Type, URL: Redact(ch.URL), Signed: ch.Secret != "", Parties: []string{}}
		for _, party := range sortedKeys(n.cfg.Parties) {
			for _, rcs := range n.cfg.Parties[party] {
				if slices.ContainsFunc(rcs, func(r RecipientConfig) bool { return r.Channel == name }) && !slices.Contains(info.Parties, party) {
					info.Parties = append(info.Parties, party)
				}
			}
		}
		out = append(out, info)
	}
	return out
}

// ChannelList is Channels for the console, which does not import this
// package.
func (n *Notifier) ChannelList() any { return n.Channels() }

// Redact masks what a URL may carry as a secret: every query value (a
// robot's key or access token) and any user information.
func Redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "***"
	}
	u.User = nil
	q := u.Query()
	for k := range q {
		q[k] = []string{"***"}
	}
	u.RawQuery = strings.ReplaceAll(q.Encode(), "%2A%2A%2A", "***")
	return u.String()
}

// Test sends a test message on a channel (to a number, for an SMS channel)
// and says whether it was delivered. Nothing is stored.
func (n *Notifier) Test(ctx context.Context, channel, to, lang string) (int, error) {
	s, ok := n.channels[channel]
	if !ok {
		return 0, shouwang.Errorf(shouwang.ENOTFOUND, "channel %q is not configured", channel).With("notify.no_channel", "channel", channel)
	}
	ch := n.cfg.Channels[channel]
	switch {
	case ch.Type == TypeSMS && strings.TrimSpace(to) == "":
		return 0, shouwang.Errorf(shouwang.EINVALID, "to: an SMS channel's test goes to a number").With("notify.need_phone")
	case ch.Type != TypeSMS && to != "":
		return 0, shouwang.Errorf(shouwang.EINVALID, "to: only an SMS channel sends to a number").With("notify.no_phone_here")
	case len(to) > 32:
		return 0, shouwang.Errorf(shouwang.EINVALID, "to: at most 32 characters").With("field.too_long", "field", "phone", "max", "32")
	}
	m := testMessage(channel, firstOf(lang, ch.Lang, "zh"))
	m.To = strings.TrimSpace(to)
	return s.send(ctx, m)
}

// base is what every channel's request shares.
type base struct {
	client *http.Client
	url    string
	now    func() time.Time
}

// post sends a JSON body to u and returns the status and up to 64 KB of
// the answer.
func (b base) post(ctx context.Context, u string, body any) (int, []byte, error) {
	data, err := json.Marshal(body)
	if err != nil {
		return 0, nil, err
	}
	return b.do(ctx, http.MethodPost, u, "application/json; charset=utf-8", strings.NewReader(string(data)), nil)
}

func (b base) do(ctx context.Context, method, u, ctype string, body io.Reader, headers map[string]string) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return 0, nil, err
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	req.Header.Set("User-Agent", "shouwang-hub")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := b.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	ans, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	return resp.StatusCode, ans, nil
}

// providerAnswer checks a robot's JSON answer: code (errcode, code,
// StatusCode) 0 is success; anything else is the provider's refusal.
func providerAnswer(status int, ans []byte, fields ...string) (int, error) {
	if status/100 != 2 {
		return status, nil // the status says it
	}
	var m map[string]any
	if err := json.Unmarshal(ans, &m); err != nil {
		return status, &alerts.NotifyError{Code: alerts.NotifyErrorRefused, Status: status, Detail: "the answer is not JSON"}
	}
	for _, f := range fields {
		v, ok := m[f]
		if !ok {
			continue
		}
		if code, ok := v.(float64); ok && code == 0 {
			return status, nil
		}
		msg, _ := m["errmsg"].(string)
		if msg == "" {
			msg, _ = m["msg"].(string)
		}
		return status, &alerts.NotifyError{Code: alerts.NotifyErrorRefused, Status: status, Provider: fmt.Sprint(v), Detail: msg}
	}
	return status, &alerts.NotifyError{Code: alerts.NotifyErrorRefused, Status: status, Detail: "the answer has no result code"}
}
