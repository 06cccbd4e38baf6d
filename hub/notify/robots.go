package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
)

// The chat robots street offices use, each with its own body and answer.

// wecom is a WeCom (企业微信) group robot: POST its webhook URL (which carries
// the robot's key) a markdown message of at most 4096 bytes; it answers
// {"errcode": 0, "errmsg": "ok"}.
type wecom struct{ base }

const wecomMaxMarkdown = 4096

func (w wecom) send(ctx context.Context, m message) (int, error) {
	body := map[string]any{"msgtype": "markdown", "markdown": map[string]string{"content": clipBytes(m.Markdown, wecomMaxMarkdown)}}
	status, ans, err := w.post(ctx, w.url, body)
	if err != nil {
		return 0, err
	}
	return providerAnswer(status, ans, "errcode")
}

// dingtalk is a DingTalk (钉钉) custom robot. With a signing secret, each
// request carries timestamp (Unix milliseconds) and sign in its query:
// base64(HMAC-SHA256(secret, timestamp + "\n" + secret)), URL-encoded; the
// robot refuses a timestamp more than an hour off. The body is a markdown
// message with a title; it answers {"errcode": 0, "errmsg": "ok"}.
type dingtalk struct {
	base
	secret string
}

// dingtalkSign is DingTalk's signature of a timestamp in milliseconds.
func dingtalkSign(secret string, ms int64) string {
	ts := strconv.FormatInt(ms, 10)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(ts + "\n" + secret))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

func (d dingtalk) send(ctx context.Context, m message) (int, error) {
	target := d.url
	if d.secret != "" {
		u, err := url.Parse(d.url)
		if err != nil {
			return 0, err
		}
		ms := d.now().UnixMilli()
		q := u.Query()
		q.Set("timestamp", strconv.FormatInt(ms, 10))
		q.Set("sign", dingtalkSign(d.secret, ms))
		u.RawQuery = q.Encode()
		target = u.String()
	}
	body := map[string]any{"msgtype": "markdown", "markdown": map[string]string{"title": m.Title, "text": m.Markdown}}
	status, ans, err := d.post(ctx, target, body)
	if err != nil {
		return 0, err
	}
	return providerAnswer(status, ans, "errcode")
}

// feishu is a Feishu/Lark (飞书) custom bot. With a signing secret the body
// carries timestamp (Unix seconds) and sign: base64(HMAC-SHA256 keyed with
// timestamp + "\n" + secret, over an empty message). The message is text;
// it answers {"code": 0, "msg": "success"} (older bots {"StatusCode": 0}).
type feishu struct {
	base
	secret string
}

// feishuSign is Feishu's signature of a timestamp in seconds.
func feishuSign(secret string, secs int64) string {
	mac := hmac.New(sha256.New, []byte(strconv.FormatInt(secs, 10)+"\n"+secret))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

func (f feishu) send(ctx context.Context, m message) (int, error) {
	body := map[string]any{"msg_type": "text", "content": map[string]string{"text": m.Text}}
	if f.secret != "" {
		secs := f.now().Unix()
		body["timestamp"] = strconv.FormatInt(secs, 10)
		body["sign"] = feishuSign(f.secret, secs)
	}
	status, ans, err := f.post(ctx, f.url, body)
	if err != nil {
		return 0, err
	}
	return providerAnswer(status, ans, "code", "StatusCode")
}

// webhook is a generic JSON webhook: the alert as alerts.Message (the
// fields the level-2 webhook always had, and the party) with the text and
// the link; any 2xx answer is delivery.
type webhook struct{ base }

func (w webhook) send(ctx context.Context, m message) (int, error) {
	type body struct {
		alertsMessage
		Text string `json:"text"`
		Link string `json:"link,omitempty"`
	}
	data, err := json.Marshal(body{alertsMessage(m.Msg), m.Text, m.Link})
	if err != nil {
		return 0, err
	}
	status, _, err := w.do(ctx, http.MethodPost, w.url, "application/json; charset=utf-8", bytes.NewReader(data),
		map[string]string{"Idempotency-Key": m.Key})
	return status, err
}
