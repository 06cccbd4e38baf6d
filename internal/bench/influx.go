package bench

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/shouwang-hub/shouwang/internal/parts"
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
type Series = parts.Series

// Query runs one InfluxQL statement and returns its series.
func (f *Influx) Query(ctx context.Context, influxql string) ([]Series, error) {
	series, err := parts.InfluxQuery(ctx, &f.c, f.URL, f.DB, influxql)
	if err != nil {
		return nil, fmt.Errorf("influx: %w", err)
	}
	return series, nil
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
