package notify

import (
	"context"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/shouwang-hub/shouwang/alerts"
)

// alertsMessage is alerts.Message, embedded in the webhook's body.
type alertsMessage = alerts.Message

// sms sends a text message through an SMS gateway's HTTP API, as the
// channel's template describes it: the URL and body with {{phone}},
// {{text}}, {{alert}} and {{level}} replaced, each value escaped for where
// it stands — inside a JSON string for a JSON body, as a form value for a
// form body, as a query value in the URL.
type sms struct {
	base
	cfg ChannelConfig
}

// smsMaxText bounds a message: gateways split long ones into several paid
// parts; 300 characters carry the alert, the address and the link.
const smsMaxText = 300

func (s sms) send(ctx context.Context, m message) (int, error) {
	text := []rune(m.Text)
	if len(text) > smsMaxText {
		text = append(text[:smsMaxText-1], '…')
	}
	vals := map[string]string{"phone": m.To, "text": string(text), "alert": strconv.FormatInt(m.Msg.Alert, 10), "level": strconv.Itoa(m.Msg.Level)}
	ctype := s.cfg.ContentType
	if ctype == "" && s.cfg.Body != "" {
		ctype = "application/json"
	}
	target := fill(s.cfg.URL, vals, url.QueryEscape)
	body := fill(s.cfg.Body, vals, escaperFor(ctype))
	method := strings.ToUpper(s.cfg.Method)
	if method == "" {
		method = http.MethodPost
	}
	var rd *strings.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	var status int
	var ans []byte
	var err error
	if rd != nil {
		status, ans, err = s.do(ctx, method, target, ctype, rd, s.cfg.Headers)
	} else {
		status, ans, err = s.do(ctx, method, target, "", http.NoBody, s.cfg.Headers)
	}
	if err != nil {
		return 0, err
	}
	if status/100 != 2 || s.cfg.SuccessField == "" {
		return status, nil
	}
	var m2 map[string]any
	if err := json.Unmarshal(ans, &m2); err != nil {
		return status, &alerts.NotifyError{Code: alerts.NotifyErrorRefused, Status: status, Detail: "the gateway's answer is not JSON"}
	}
	got := fmt.Sprint(m2[s.cfg.SuccessField])
	if f, ok := m2[s.cfg.SuccessField].(float64); ok {
		got = strconv.FormatFloat(f, 'f', -1, 64)
	}
	if got != s.cfg.SuccessValue {
		return status, &alerts.NotifyError{Code: alerts.NotifyErrorRefused, Status: status, Provider: got}
	}
	return status, nil
}

// fill replaces {{name}} in tmpl with vals[name], escaped.
func fill(tmpl string, vals map[string]string, esc func(string) string) string {
	if tmpl == "" {
		return ""
	}
	pairs := make([]string, 0, 2*len(vals))
	for k, v := range vals {
		pairs = append(pairs, "{{"+k+"}}", esc(v))
	}
	return strings.NewReplacer(pairs...).Replace(tmpl)
}

// escaperFor is how a value is written into a body of ctype.
func escaperFor(ctype string) func(string) string {
	mt, _, _ := mime.ParseMediaType(ctype)
	switch {
	case mt == "application/json" || strings.HasSuffix(mt, "+json"):
		return func(v string) string {
			b, _ := json.Marshal(v)
			return string(b[1 : len(b)-1]) // inside the template's own quotes
		}
	case mt == "application/x-www-form-urlencoded":
		return url.QueryEscape
	}
	return func(v string) string { return v }
}
