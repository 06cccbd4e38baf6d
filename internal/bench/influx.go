package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Influx runs InfluxQL against one database over InfluxDB 1.x's /query,
// which counts faster than Flux and needs no client library.
type Influx struct {
	URL string // http://host:port
	DB  string
	c   http.Client
}

// NewInflux returns a client for database db at url.
func NewInflux(url, db string) *Influx {
	return &Influx{URL: strings.TrimRight(url, "/"), DB: db, c: http.Client{Timeout: 60 * time.Second}}
}

// Series is one series of a query's result.
type Series struct {
	Name    string            `json:"name"`
	Tags    map[string]string `json:"tags"`
	Columns []string          `json:"columns"`
	Values  [][]any           `json:"values"`
}

// Query runs one InfluxQL statement and returns its series.
func (f *Influx) Query(ctx context.Context, influxql string) ([]Series, error) {
	form := url.Values{"q": {influxql}, "db": {f.DB}, "epoch": {"ms"}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, f.URL+"/query", strings.NewReader(form.Encode()))
	if err != nil {
		return nil, fmt.Errorf("influx query: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := f.c.Do(req)
	if err != nil {
		return nil, fmt.Errorf("influx query %q: %w", influxql, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("influx query %q: %w", influxql, err)
	}
	var out struct {
		Results []struct {
			Series []Series `json:"series"`
			Error  string   `json:"error"`
		} `json:"results"`
		Error string `json:"error"`
	}
	if err := json.Unmarshal(body, &out); err != nil {
		return nil, fmt.Errorf("influx query %q: %s: %.200s", influxql, resp.Status, body)
	}
	switch {
	case out.Error != "":
		return nil, fmt.Errorf("influx query %q: %s", influxql, out.Error)
	case len(out.Results) != 1:
		return nil, fmt.Errorf("influx query %q: %d results, want one statement", influxql, len(out.Results))
	case out.Results[0].Error != "":
		return nil, fmt.Errorf("influx query %q: %s", influxql, out.Results[0].Error)
	}
	return out.Results[0].Series, nil
}

// Exec runs a statement that returns nothing, such as CREATE DATABASE.
func (f *Influx) Exec(ctx context.Context, influxql string) error {
	_, err := f.Query(ctx, influxql)
	return err
}

// Count runs a count query and returns the first value column summed over
// every row of every series; nothing matched gives 0.
func (f *Influx) Count(ctx context.Context, influxql string) (int, error) {
	series, err := f.Query(ctx, influxql)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, s := range series {
		for _, row := range s.Values {
			if len(row) < 2 {
				continue
			}
			if v, ok := row[1].(float64); ok {
				n += int(v)
			}
		}
	}
	return n, nil
}
