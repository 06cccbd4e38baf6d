package notify

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shouwang-hub/shouwang/alerts"
	"github.com/shouwang-hub/shouwang/devices"
)

// provider is a local HTTP server standing in for a provider's API: it
// records each request and answers what the test says.
type provider struct {
	*httptest.Server
	mu     sync.Mutex
	reqs   []*recorded
	answer func(r *recorded) (int, string)
}

type recorded struct {
	method, path, ctype string
	query               url.Values
	header              http.Header
	body                []byte
}

func newProvider(t *testing.T, answer func(*recorded) (int, string)) *provider {
	p := &provider{answer: answer}
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		rec := &recorded{method: r.Method, path: r.URL.Path, ctype: r.Header.Get("Content-Type"), query: r.URL.Query(), header: r.Header.Clone(), body: b}
		p.mu.Lock()
		p.reqs = append(p.reqs, rec)
		p.mu.Unlock()
		status, body := p.answer(rec)
		w.WriteHeader(status)
		io.WriteString(w, body)
	}))
	t.Cleanup(p.Close)
	return p
}

func (p *provider) last(t *testing.T) *recorded {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.reqs) == 0 {
		t.Fatal("the provider got no request")
	}
	return p.reqs[len(p.reqs)-1]
}

var clock = time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)

func testAlert() *alerts.Alert {
	return &alerts.Alert{
		ID: 42, Kind: alerts.KindSOS, Severity: alerts.SeverityCritical, DeviceID: "sos-0001", OpenedAt: clock,
		Device: devices.Device{ID: "sos-0001", Location: devices.Location{Community: "阳光社区", Grid: "网格一", Building: "3号楼", Household: "3-2-502"},
			Resident:   devices.Resident{Name: "王秀英", LivesAlone: true},
			GridWorker: devices.GridWorker{Name: "李敏", Phone: "13800001111"},
			Contacts: []devices.Contact{{Name: "王强", Relation: "儿子", Phone: "13900000001", NotifySOS: true},
				{Name: "邻居", Phone: "13900000002"}}},
	}
}

// notification is what the domain queues for a's recipient r at level.
func notification(t *testing.T, a *alerts.Alert, party, channel, to, lang string, level int) *alerts.Notification {
	t.Helper()
	loc := a.Device.Location
	b, err := json.Marshal(alerts.Message{Alert: a.ID, Kind: a.Kind, Severity: a.Severity, Level: level, Party: party, DeviceID: a.DeviceID,
		Address: loc.String(), Community: loc.Community, Grid: loc.Grid, Resident: a.Device.Resident.Name, LivesAlone: a.Device.Resident.LivesAlone,
		GridWorker: a.Device.GridWorker, OpenedAt: a.OpenedAt})
	if err != nil {
		t.Fatal(err)
	}
	return &alerts.Notification{ID: 1, AlertID: a.ID, Level: level, Payload: b, Party: party, Channel: channel, To: to, Lang: lang}
}

func newNotifier(t *testing.T, cfg Config) *Notifier {
	t.Helper()
	n, err := New(cfg, Options{Now: func() time.Time { return clock }, Location: time.FixedZone("CST", 8*3600), PublicURL: "https://duty.example.org"})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func decodeBody(t *testing.T, r *recorded) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("the body is not JSON: %v\n%s", err, r.body)
	}
	return m
}

// WeCom's group robot: a POST to its webhook URL, the key kept in the
// query, of a markdown message within 4096 bytes; errcode 0 is delivery, any
// other the robot's refusal.
func TestWeCom(t *testing.T) {
	code := 0
	p := newProvider(t, func(*recorded) (int, string) { return 200, `{"errcode":` + strconv.Itoa(code) + `,"errmsg":"ok"}` })
	n := newNotifier(t, Config{Channels: map[string]ChannelConfig{"duty": {Type: TypeWeCom, URL: p.URL + "/cgi-bin/webhook/send?key=abc-123"}}})
	status, err := n.Deliver(t.Context(), notification(t, testAlert(), alerts.PartyCommunityDuty, "duty", "", "zh", 1))
	if err != nil || status != 200 {
		t.Fatalf("Deliver = %d, %v", status, err)
	}
	r := p.last(t)
	if r.method != "POST" || r.path != "/cgi-bin/webhook/send" || r.query.Get("key") != "abc-123" || !strings.HasPrefix(r.ctype, "application/json") {
		t.Errorf("request %s %s %v %s", r.method, r.path, r.query, r.ctype)
	}
	m := decodeBody(t, r)
	md, _ := m["markdown"].(map[string]any)
	content, _ := md["content"].(string)
	for _, want := range []string{"紧急：一键呼救 #42", "升至第 1 级", "阳光社区 / 网格一 / 3号楼 / 3-2-502", "王秀英（独居）", "2026-03-01 16:00:00", "(https://duty.example.org/#alert=42)"} {
		if !strings.Contains(content, want) {
			t.Errorf("the markdown lacks %q:\n%s", want, content)
		}
	}
	if m["msgtype"] != "markdown" || len(content) > wecomMaxMarkdown {
		t.Errorf("msgtype %v, %d bytes", m["msgtype"], len(content))
	}
	// A very long address is cut to WeCom's limit, on a character boundary.
	long := testAlert()
	long.Device.Location.Household = strings.Repeat("长", 3000)
	if _, err := n.Deliver(t.Context(), notification(t, long, alerts.PartyCommunityDuty, "duty", "", "zh", 1)); err != nil {
		t.Fatal(err)
	}
	content = decodeBody(t, p.last(t))["markdown"].(map[string]any)["content"].(string)
	if len(content) > wecomMaxMarkdown || !strings.HasSuffix(content, "长") {
		t.Errorf("a long message: %d bytes, ends %q", len(content), content[len(content)-6:])
	}
	code = 93000 // an invalid key
	_, err = n.Deliver(t.Context(), notification(t, testAlert(), alerts.PartyCommunityDuty, "duty", "", "zh", 1))
	var ne *alerts.NotifyError
	if !errors.As(err, &ne) || ne.Code != alerts.NotifyErrorRefused || ne.Provider != "93000" {
		t.Errorf("a refusal: %v", err)
	}
}

// DingTalk's robot with a secret: timestamp (ms) and sign in the query, the
// sign being base64 of HMAC-SHA256 keyed with the secret over
// timestamp+"\n"+secret, as DingTalk documents it; a markdown body with a
// title; errcode 310000 (a bad signature) is a refusal.
func TestDingTalkSignature(t *testing.T) {
	const secret = "SEC0123456789abcdef"
	p := newProvider(t, func(r *recorded) (int, string) {
		ts, err := strconv.ParseInt(r.query.Get("timestamp"), 10, 64)
		if err != nil || clock.Sub(time.UnixMilli(ts)).Abs() > time.Hour {
			return 200, `{"errcode":310000,"errmsg":"timestamp"}`
		}
		mac := hmac.New(sha256.New, []byte(secret))
		mac.Write([]byte(r.query.Get("timestamp") + "\n" + secret))
		if r.query.Get("sign") != base64.StdEncoding.EncodeToString(mac.Sum(nil)) {
			return 200, `{"errcode":310000,"errmsg":"sign not match"}`
		}
		return 200, `{"errcode":0,"errmsg":"ok"}`
	})
	n := newNotifier(t, Config{Channels: map[string]ChannelConfig{
		"leaders": {Type: TypeDingTalk, URL: p.URL + "/robot/send?access_token=tok", Secret: secret},
		"wrong":   {Type: TypeDingTalk, URL: p.URL + "/robot/send?access_token=tok", Secret: "SECwrong"},
	}})
	if _, err := n.Deliver(t.Context(), notification(t, testAlert(), alerts.PartyStreetLeader, "leaders", "", "en", 2)); err != nil {
		t.Fatalf("a signed message: %v", err)
	}
	r := p.last(t)
	if r.query.Get("access_token") != "tok" || r.query.Get("timestamp") != strconv.FormatInt(clock.UnixMilli(), 10) {
		t.Errorf("query %v", r.query)
	}
	m := decodeBody(t, r)
	md := m["markdown"].(map[string]any)
	if m["msgtype"] != "markdown" || !strings.Contains(md["title"].(string), "CRITICAL: SOS call #42 — not accepted, level 2") ||
		!strings.Contains(md["text"].(string), "Resident: 王秀英 (lives alone)") {
		t.Errorf("body %s", r.body)
	}
	_, err := n.Deliver(t.Context(), notification(t, testAlert(), alerts.PartyStreetLeader, "wrong", "", "zh", 2))
	var ne *alerts.NotifyError
	if !errors.As(err, &ne) || ne.Provider != "310000" {
		t.Errorf("a wrong secret: %v", err)
	}
}

// Feishu's bot with a secret: timestamp (s) and sign in the body, the sign
// being base64 of HMAC-SHA256 keyed with timestamp+"\n"+secret over an empty
// message, as Feishu documents it; a text message; code 19021 is a refusal.
func TestFeishuSignature(t *testing.T) {
	const secret = "feishu-secret"
	p := newProvider(t, func(r *recorded) (int, string) {
		var b struct {
			Timestamp, Sign string
			MsgType         string `json:"msg_type"`
			Content         struct{ Text string }
		}
		if json.Unmarshal(r.body, &b) != nil || b.MsgType != "text" || b.Content.Text == "" {
			return 200, `{"code":9499,"msg":"bad request"}`
		}
		mac := hmac.New(sha256.New, []byte(b.Timestamp+"\n"+secret))
		if b.Sign != base64.StdEncoding.EncodeToString(mac.Sum(nil)) || b.Timestamp != strconv.FormatInt(clock.Unix(), 10) {
			return 200, `{"code":19021,"msg":"sign match fail or timestamp is not within one hour from current time"}`
		}
		return 200, `{"code":0,"msg":"success","data":{}}`
	})
	n := newNotifier(t, Config{Channels: map[string]ChannelConfig{
		"street": {Type: TypeFeishu, URL: p.URL + "/open-apis/bot/v2/hook/xyz", Secret: secret},
		"wrong":  {Type: TypeFeishu, URL: p.URL + "/open-apis/bot/v2/hook/xyz", Secret: "nope"},
	}})
	if _, err := n.Deliver(t.Context(), notification(t, testAlert(), alerts.PartyStreetLeader, "street", "", "zh", 2)); err != nil {
		t.Fatalf("a signed message: %v", err)
	}
	if text := decodeBody(t, p.last(t))["content"].(map[string]any)["text"].(string); !strings.Contains(text, "地址：阳光社区") {
		t.Errorf("text %q", text)
	}
	_, err := n.Deliver(t.Context(), notification(t, testAlert(), alerts.PartyStreetLeader, "wrong", "", "zh", 2))
	var ne *alerts.NotifyError
	if !errors.As(err, &ne) || ne.Provider != "19021" {
		t.Errorf("a wrong secret: %v", err)
	}
}

// The generic webhook keeps the fields the level-2 webhook always had, and
// adds the party, the text and the link; a 503 is a failure by status.
func TestWebhook(t *testing.T) {
	status := 204
	p := newProvider(t, func(*recorded) (int, string) { return status, "" })
	n := newNotifier(t, FromWebhook(p.URL+"/hook"))
	got, err := n.Deliver(t.Context(), notification(t, testAlert(), alerts.PartyStreetLeader, "webhook", "", "", 2))
	if err != nil || got != 204 {
		t.Fatalf("Deliver = %d, %v", got, err)
	}
	m := decodeBody(t, p.last(t))
	for _, k := range []string{"alert", "kind", "severity", "device_id", "address", "community", "resident", "lives_alone", "grid_worker", "opened_at", "level", "test", "party", "text", "link"} {
		if _, ok := m[k]; !ok {
			t.Errorf("the webhook's body lacks %q: %s", k, p.last(t).body)
		}
	}
	if m["alert"] != float64(42) || m["level"] != float64(2) || m["party"] != "street_leader" {
		t.Errorf("body %v", m)
	}
	status = 503
	if got, err := n.Deliver(t.Context(), notification(t, testAlert(), alerts.PartyStreetLeader, "webhook", "", "", 2)); err != nil || got != 503 {
		t.Errorf("a server that is down: %d, %v", got, err)
	}
}

// An SMS gateway described by a template: the number and the text land in
// a JSON body escaped as JSON strings (quotes and new lines survive), or in
// a form, or in a GET's query; the gateway's own result field decides.
func TestSMSTemplates(t *testing.T) {
	var result string
	p := newProvider(t, func(r *recorded) (int, string) { return 200, `{"code":` + result + `,"msg":"x"}` })
	cfg := Config{Channels: map[string]ChannelConfig{
		"json": {Type: TypeSMS, URL: p.URL + "/api/send", Headers: map[string]string{"Authorization": "Bearer sms-key"},
			Body: `{"mobile":"{{phone}}","content":"{{text}}","ref":"alert-{{alert}}"}`, SuccessField: "code", SuccessValue: "0"},
		"form": {Type: TypeSMS, URL: p.URL + "/form", ContentType: "application/x-www-form-urlencoded", Body: "to={{phone}}&msg={{text}}"},
		"get":  {Type: TypeSMS, URL: p.URL + "/get?to={{phone}}&msg={{text}}", Method: "GET"},
	}}
	n := newNotifier(t, cfg)
	a := testAlert()
	a.Device.Resident.Name = `王"秀英"` // a quote the JSON body must escape
	result = "0"
	if _, err := n.Deliver(t.Context(), notification(t, a, alerts.PartyFamily, "json", "13900000001", "zh", 0)); err != nil {
		t.Fatalf("JSON gateway: %v", err)
	}
	r := p.last(t)
	var b struct{ Mobile, Content, Ref string }
	if err := json.Unmarshal(r.body, &b); err != nil {
		t.Fatalf("the body is not JSON: %v\n%s", err, r.body)
	}
	if b.Mobile != "13900000001" || b.Ref != "alert-42" || !strings.Contains(b.Content, `您的家人 王"秀英" 按下了一键呼救`) ||
		!strings.Contains(b.Content, "\n") || strings.Contains(b.Content, "https://") || r.header.Get("Authorization") != "Bearer sms-key" {
		t.Errorf("JSON gateway got %+v, header %v", b, r.header.Get("Authorization"))
	}
	result = "17" // the gateway's own refusal
	_, err := n.Deliver(t.Context(), notification(t, a, alerts.PartyFamily, "json", "13900000001", "zh", 0))
	var ne *alerts.NotifyError
	if !errors.As(err, &ne) || ne.Provider != "17" || ne.Code != alerts.NotifyErrorRefused {
		t.Errorf("a refusal: %v", err)
	}
	if _, err := n.Deliver(t.Context(), notification(t, a, alerts.PartyGridWorker, "form", "13800001111", "en", 1)); err != nil {
		t.Fatal(err)
	}
	form, _ := url.ParseQuery(string(p.last(t).body))
	if form.Get("to") != "13800001111" || !strings.Contains(form.Get("msg"), "[Shouwang] CRITICAL: SOS call #42") {
		t.Errorf("form gateway got %v", form)
	}
	if _, err := n.Deliver(t.Context(), notification(t, a, alerts.PartyGridWorker, "get", "138 0000", "zh", 1)); err != nil {
		t.Fatal(err)
	}
	if g := p.last(t); g.method != "GET" || g.query.Get("to") != "138 0000" || !strings.Contains(g.query.Get("msg"), "一键呼救") {
		t.Errorf("GET gateway: %s %v", g.method, g.query)
	}
}

// Who a party is: its community's recipients, else everyone's; the grid
// worker at their registered phone, the family at each contact the
// household opted in; nobody configured, and no phone, said so.
func TestRecipients(t *testing.T) {
	n := newNotifier(t, Config{
		Channels: map[string]ChannelConfig{"sms": {Type: TypeSMS, URL: "https://sms.example/send", Body: `{"to":"{{phone}}","text":"{{text}}"}`},
			"duty": {Type: TypeWeCom, URL: "https://qyapi.example/send?key=k", Lang: "en"}},
		Parties: map[string]map[string][]RecipientConfig{
			alerts.PartyCommunityDuty: {"*": {{Channel: "duty"}}, "月季社区": {{Channel: "sms", To: "13700000000", Lang: "zh"}}},
			alerts.PartyGridWorker:    {"*": {{Channel: "sms"}}},
			alerts.PartyFamily:        {"*": {{Channel: "sms"}}},
		},
	})
	a := testAlert()
	got := func(party string, a *alerts.Alert) string {
		rs, why := n.Recipients(party, a)
		var parts []string
		for _, r := range rs {
			parts = append(parts, r.Channel+"/"+r.To+"/"+r.Lang)
		}
		return strings.Join(parts, " ") + "|" + why
	}
	for _, tc := range []struct{ party, want string }{
		{alerts.PartyCommunityDuty, "duty//en|"},
		{alerts.PartyGridWorker, "sms/13800001111/zh|"},
		{alerts.PartyFamily, "sms/13900000001/zh|"},
		{alerts.PartyFire, "|unconfigured"},
	} {
		if g := got(tc.party, a); g != tc.want {
			t.Errorf("%s: %s, want %s", tc.party, g, tc.want)
		}
	}
	b := testAlert()
	b.Device.Location.Community, b.Device.GridWorker.Phone = "月季社区", ""
	if g := got(alerts.PartyCommunityDuty, b); g != "sms/13700000000/zh|" {
		t.Errorf("月季社区's duty officer: %s", g)
	}
	if g := got(alerts.PartyGridWorker, b); g != "|no_phone" {
		t.Errorf("a grid worker without a phone: %s", g)
	}
}

// Secrets stay configuration: the listing masks query values and says only
// whether a signing secret is set.
func TestChannelsHideSecrets(t *testing.T) {
	n := newNotifier(t, Config{
		Channels: map[string]ChannelConfig{
			"leaders": {Type: TypeDingTalk, URL: "https://oapi.dingtalk.com/robot/send?access_token=SECRET-TOKEN", Secret: "SECsecret"},
			"sms":     {Type: TypeSMS, URL: "https://u:p@sms.example/send?apikey=SECRET2&to={{phone}}", Body: "{{text}}"},
		},
		Parties: map[string]map[string][]RecipientConfig{alerts.PartyStreetLeader: {"*": {{Channel: "leaders"}}}},
	})
	b, _ := json.Marshal(n.Channels())
	for _, secret := range []string{"SECRET-TOKEN", "SECsecret", "SECRET2", "u:p"} {
		if strings.Contains(string(b), secret) {
			t.Errorf("the listing shows %q: %s", secret, b)
		}
	}
	if !strings.Contains(string(b), `"url":"https://oapi.dingtalk.com/robot/send?access_token=***"`) || !strings.Contains(string(b), `"signed":true`) ||
		!strings.Contains(string(b), `"parties":["street_leader"]`) {
		t.Errorf("listing %s", b)
	}
}

// A channel's test message: a group robot's, an SMS gateway's to a number;
// an unknown channel or an SMS test without a number refused.
func TestChannelTest(t *testing.T) {
	p := newProvider(t, func(*recorded) (int, string) { return 200, `{"errcode":0}` })
	n := newNotifier(t, Config{Channels: map[string]ChannelConfig{
		"duty": {Type: TypeWeCom, URL: p.URL + "/send?key=k"},
		"sms":  {Type: TypeSMS, URL: p.URL + "/sms", Body: `{"to":"{{phone}}","text":"{{text}}"}`},
	}})
	if status, err := n.Test(t.Context(), "duty", "", "zh"); err != nil || status != 200 {
		t.Fatalf("test: %d %v", status, err)
	}
	if c := decodeBody(t, p.last(t))["markdown"].(map[string]any)["content"].(string); !strings.Contains(c, "测试消息：通知渠道「duty」工作正常") {
		t.Errorf("test message %q", c)
	}
	if _, err := n.Test(t.Context(), "sms", "13900000000", "en"); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(p.last(t).body), `Test message: channel \"sms\" works.`) {
		t.Errorf("SMS test body %s", p.last(t).body)
	}
	if _, err := n.Test(t.Context(), "sms", "", ""); err == nil {
		t.Error("an SMS test without a number was sent")
	}
	if _, err := n.Test(t.Context(), "nope", "", ""); err == nil {
		t.Error("a test of an unknown channel was sent")
	}
	// A provider that does not answer in time.
	slow := newProvider(t, func(*recorded) (int, string) { time.Sleep(300 * time.Millisecond); return 200, "{}" })
	n2, err := New(Config{Channels: map[string]ChannelConfig{"slow": {Type: TypeWebhook, URL: slow.URL}}},
		Options{Client: &http.Client{Timeout: 50 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if _, err := n2.Test(ctx, "slow", "", ""); err == nil {
		t.Error("a provider that does not answer: no error")
	}
}

// The configuration names what is wrong.
func TestConfigInvalid(t *testing.T) {
	for _, tc := range []struct{ json, want string }{
		{`{"channels": {"x": {"type": "fax", "url": "https://a"}}}`, `channels["x"]: type "fax"`},
		{`{"channels": {"x": {"type": "wecom", "url": "ftp://a"}}}`, `channels["x"]: url: want an http(s) URL`},
		{`{"channels": {"x": {"type": "sms", "url": "https://a", "body": "{{text}}"}}}`, `must place {{phone}} and {{text}}`},
		{`{"channels": {"x": {"type": "wecom", "url": "https://a", "secret": "s"}}}`, `secret: only DingTalk and Feishu robots sign`},
		{`{"channels": {}, "parties": {"mayor": {"*": []}}}`, `parties["mayor"]: not a party`},
		{`{"channels": {}, "parties": {"119": {"*": [{"channel": "sms"}]}}}`, `channel "sms" is not configured`},
		{`{"channels": {"sms": {"type": "sms", "url": "https://a", "body": "{{phone}} {{text}}"}}, "parties": {"119": {"*": [{"channel": "sms"}]}}}`, `an SMS channel needs a number`},
		{`{"channels": {}, "extra": 1}`, `unknown field "extra"`},
	} {
		_, err := Load(strings.NewReader(tc.json))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.json, err, tc.want)
		}
	}
}
