package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/shouwang-hub/shouwang/alerts"
)

// API is a client of the hub's HTTP API with a bearer token.
type API struct {
	Base  string // http://host:port
	Token string
	c     http.Client
}

// Login logs in with a password and returns a client holding the API
// token.
func Login(ctx context.Context, base, username, password string) (*API, error) {
	a := &API{Base: strings.TrimRight(base, "/"), c: http.Client{Timeout: 60 * time.Second}}
	body, _ := json.Marshal(map[string]string{"username": username, "password": password})
	var out struct {
		Token string `json:"token"`
	}
	if err := a.do(ctx, http.MethodPost, "/api/v1/login", strings.NewReader(string(body)), &out); err != nil {
		return nil, fmt.Errorf("login: %w", err)
	}
	if out.Token == "" {
		return nil, fmt.Errorf("login: no token in the answer")
	}
	a.Token = out.Token
	return a, nil
}

// do sends a request and decodes a JSON answer into out (if not nil); a
// status other than 2xx is an error quoting the body.
func (a *API) do(ctx context.Context, method, path string, body io.Reader, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, a.Base+path, body)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if a.Token != "" {
		req.Header.Set("Authorization", "Bearer "+a.Token)
	}
	resp, err := a.c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: %s: %.300s", method, path, resp.Status, raw)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			return fmt.Errorf("%s %s: decode: %w", method, path, err)
		}
	}
	return nil
}

// Alerts lists every alert matching the query (such as "kind=offline"),
// following the pages.
func (a *API) Alerts(ctx context.Context, query string) ([]*alerts.Alert, error) {
	const page = 1000
	var all []*alerts.Alert
	for offset := 0; ; offset += page {
		q, err := url.ParseQuery(query)
		if err != nil {
			return nil, fmt.Errorf("alerts query %q: %w", query, err)
		}
		q.Set("limit", strconv.Itoa(page))
		q.Set("offset", strconv.Itoa(offset))
		var out struct {
			Alerts []*alerts.Alert `json:"alerts"`
			Total  int             `json:"total"`
		}
		if err := a.do(ctx, http.MethodGet, "/api/v1/alerts?"+q.Encode(), nil, &out); err != nil {
			return nil, fmt.Errorf("list alerts: %w", err)
		}
		all = append(all, out.Alerts...)
		if len(out.Alerts) < page || len(all) >= out.Total {
			return all, nil
		}
	}
}

// AlertTotal returns how many alerts match the query.
func (a *API) AlertTotal(ctx context.Context, query string) (int, error) {
	q, err := url.ParseQuery(query)
	if err != nil {
		return 0, fmt.Errorf("alerts query %q: %w", query, err)
	}
	q.Set("limit", "1")
	var out struct {
		Total int `json:"total"`
	}
	if err := a.do(ctx, http.MethodGet, "/api/v1/alerts?"+q.Encode(), nil, &out); err != nil {
		return 0, fmt.Errorf("count alerts: %w", err)
	}
	return out.Total, nil
}

// Profile fetches a CPU profile of the hub over the admin-only pprof
// endpoint, blocking for the profile's duration.
func (a *API) Profile(ctx context.Context, seconds int) ([]byte, error) {
	return a.pprof(ctx, fmt.Sprintf("profile?seconds=%d", seconds), seconds)
}

// Trace fetches an execution trace of the hub over the admin-only pprof
// endpoint, blocking for its duration.
func (a *API) Trace(ctx context.Context, seconds int) ([]byte, error) {
	return a.pprof(ctx, fmt.Sprintf("trace?seconds=%d", seconds), seconds)
}

// NamedProfile fetches one of the runtime's named profiles ("heap",
// "allocs", "goroutine") from the admin-only pprof endpoint.
func (a *API) NamedProfile(ctx context.Context, name string) ([]byte, error) {
	return a.pprof(ctx, name, 0)
}

func (a *API) pprof(ctx context.Context, path string, seconds int) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, a.Base+"/debug/pprof/"+path, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+a.Token)
	c := http.Client{Timeout: time.Duration(seconds+30) * time.Second}
	resp, err := c.Do(req)
	if err != nil {
		return nil, fmt.Errorf("pprof %s: %w", path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("pprof %s: %w", path, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("pprof %s: %s: %.200s", path, resp.Status, b)
	}
	return b, nil
}

// Metrics is a scrape of /metrics: each sample's value by its series
// ("name" or `name{label="v",...}`).
type Metrics map[string]float64

// Metrics scrapes the hub's /metrics.
func (a *API) Metrics(ctx context.Context) (Metrics, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, a.Base+"/metrics", nil)
	if err != nil {
		return nil, err
	}
	resp, err := a.c.Do(req)
	if err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("metrics: %s", resp.Status)
	}
	return ParseMetrics(resp.Body)
}

// ParseMetrics reads the Prometheus text format, keeping samples only.
func ParseMetrics(r io.Reader) (Metrics, error) {
	m := Metrics{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			continue
		}
		m[line[:i]] = v
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	return m, nil
}

// Sum adds up the samples of metric name whose labels include every one of
// labels, each written as `key="value"`.
func (m Metrics) Sum(name string, labels ...string) float64 {
	var sum float64
	for series, v := range m {
		base, rest, _ := strings.Cut(series, "{")
		if base != name {
			continue
		}
		ok := true
		for _, l := range labels {
			if !strings.Contains(rest, l) {
				ok = false
				break
			}
		}
		if ok {
			sum += v
		}
	}
	return sum
}

// Call sends one request with a JSON body (nil for none) and returns the
// status and the body, whatever the status: the transitions scenario counts
// refusals (409) as answers, not errors.
func (a *API) Call(ctx context.Context, method, path string, body any) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, nil, err
		}
		rd = strings.NewReader(string(b))
	}
	req, err := http.NewRequestWithContext(ctx, method, a.Base+path, rd)
	if err != nil {
		return 0, nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Authorization", "Bearer "+a.Token)
	resp, err := a.c.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	return resp.StatusCode, raw, err
}
