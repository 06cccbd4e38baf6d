package sim

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// consoleHangupTimeout bounds the console peer's hang-up request.
const consoleHangupTimeout = 10 * time.Second

// AnswerAsConsole answers call callID as an operator's browser would, for Go
// tests and the benchmark: it builds a pion peer with the clip as its
// microphone, POSTs its offer ({"sdp": ...}) to
// {server}/api/v1/calls/{callID}/answer with "Authorization: Bearer
// {token}" (none if token is empty: opts.HTTPClient then authenticates, as
// with a browser's session cookie), applies the hub's answer and records
// what it hears to opts.Record. server is the console's base URL
// (http(s)://host:port). ctx
// bounds only the exchange; the call lasts until Hangup (which POSTs to
// /api/v1/calls/{callID}/hangup), an RTCP BYE from the hub, or the hub
// unheard for opts.PeerTimeout (reason peer_gone). opts.AutoCallback and
// AnswerTimeout do not apply.
func AnswerAsConsole(ctx context.Context, server, token, callID string, opts CallOptions) (*Call, error) {
	base, err := url.Parse(strings.TrimRight(server, "/"))
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return nil, fmt.Errorf("console peer: server %q: want http(s)://host:port", server)
	}
	if callID == "" {
		return nil, fmt.Errorf("console peer: call id is empty")
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("console_call", callID)
	callURL := base.String() + "/api/v1/calls/" + url.PathEscape(callID)
	client := opts.HTTPClient
	if client == nil {
		client = http.DefaultClient
	}
	c, err := newCall(callID, opts, log, callHooks{
		notify: func(string) error {
			ctx, cancel := context.WithTimeout(context.Background(), consoleHangupTimeout)
			defer cancel()
			return postJSON(ctx, client, callURL+"/hangup", token, nil, nil)
		},
		byeEnds: true,
	})
	if err != nil {
		return nil, fmt.Errorf("console peer: %w", err)
	}
	abort := func(err error) (*Call, error) {
		c.end(ReasonError, false)
		<-c.done
		return nil, fmt.Errorf("console peer: call %s: %w", callID, err)
	}
	offer, err := c.offer(ctx)
	if err != nil {
		return abort(err)
	}
	var answer struct {
		SDP string `json:"sdp"`
	}
	if err := postJSON(ctx, client, callURL+"/answer", token, map[string]string{"sdp": offer}, &answer); err != nil {
		return abort(err)
	}
	if err := c.setAnswer(answer.SDP); err != nil {
		return abort(err)
	}
	log.Info("call answered as the console")
	return c, nil
}

// postJSON POSTs body as JSON with a bearer token and decodes a 2xx
// response into out (either may be nil). A non-200 answer becomes an error
// carrying the API's message.
func postJSON(ctx context.Context, client *http.Client, u, token string, body, out any) error {
	var rd io.Reader = http.NoBody
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("encode request: %w", err)
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, rd)
	if err != nil {
		return fmt.Errorf("request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" { // else the client authenticates (a browser's session, in tests)
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("post %s: %w", req.URL.Path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("post %s: read response: %w", req.URL.Path, err)
	}
	if resp.StatusCode/100 != 2 {
		var e struct {
			Error string `json:"error"`
		}
		if json.Unmarshal(raw, &e) != nil || e.Error == "" {
			e.Error = clipText(string(raw))
		}
		return fmt.Errorf("post %s: HTTP %d: %s", req.URL.Path, resp.StatusCode, e.Error)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			return fmt.Errorf("post %s: decode response: %w", req.URL.Path, err)
		}
	}
	return nil
}
