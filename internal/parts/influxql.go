package parts

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// Series is one series of an InfluxQL result. Times are Unix milliseconds;
// numbers are float64.
type Series struct {
	Name    string            `json:"name"`
	Tags    map[string]string `json:"tags"`
	Columns []string          `json:"columns"`
	Values  [][]any           `json:"values"`
}

// InfluxQuery runs one InfluxQL statement against database db through
// InfluxDB 1.x's /query at baseURL ("http://host:port") and returns its
// series; a statement that returns nothing, such as CREATE DATABASE, gives
// none. InfluxQL counts faster than Flux and needs no client library.
func InfluxQuery(ctx context.Context, c *http.Client, baseURL, db, influxql string) ([]Series, error) {
	form := url.Values{"q": {influxql}, "db": {db}, "epoch": {"ms"}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(baseURL, "/")+"/query", strings.NewReader(form.Encode()))
	if err != nil {
		return nil, fmt.Errorf("query %q: %w", influxql, err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := c.Do(req)
	if err != nil {
		return nil, fmt.Errorf("query %q: %w", influxql, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("query %q: %w", influxql, err)
	}
	var out struct {
		Results []struct {
			Series []Series `json:"series"`
			Error  string   `json:"error"`
		} `json:"results"`
		Error string `json:"error"`
	}
	if err := json.Unmarshal(body, &out); err != nil {
		return nil, fmt.Errorf("query %q: %s: %.200s", influxql, resp.Status, body)
	}
	switch {
	case out.Error != "":
		return nil, fmt.Errorf("query %q: %s", influxql, out.Error)
	case len(out.Results) != 1:
		return nil, fmt.Errorf("query %q: %d results, want one statement", influxql, len(out.Results))
	case out.Results[0].Error != "":
		return nil, fmt.Errorf("query %q: %s", influxql, out.Results[0].Error)
	}
	return out.Results[0].Series, nil
}
