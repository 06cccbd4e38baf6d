package main

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/shouwang-hub/shouwang/devices"
)

func (c *cli) telemetry(args []string) error {
	fs := c.newFlags("telemetry", "telemetry ID -field FIELD [-since 24h] [-every 1m] [-json]")
	field := fs.String("field", "", "telemetry field, such as lel, smoke, temperature, battery")
	since := fs.String("since", "24h", "how far back: a duration such as 90m, 6h or 7d (at most 31d)")
	every := fs.String("every", "", "aggregate into buckets of this duration (such as 1m); raw readings if empty")
	asJSON := fs.Bool("json", false, "print the server's JSON")
	pos, err := parse(fs, args, "ID")
	if err != nil {
		return err
	}
	back, err := parseSince(*since)
	if err != nil {
		return usagef("telemetry: -since %q: %v", *since, err)
	}
	q := url.Values{"field": {*field}, "from": {c.now().Add(-back).UTC().Format(time.RFC3339)}}
	if *every != "" {
		q.Set("every", *every)
	}
	var resp struct {
		Device string            `json:"device"`
		Field  string            `json:"field"`
		Unit   string            `json:"unit"`
		Points []devices.Reading `json:"points"`
	}
	if err := c.call(request{method: http.MethodGet, path: devicePath(pos[0], "/telemetry"), query: q, auth: true}, &resp); err != nil {
		return err
	}
	if *asJSON {
		return c.printJSON(resp)
	}
	if len(resp.Points) == 0 {
		fmt.Fprintf(c.stdout, "No %s readings from %s in the last %s.\n", resp.Field, resp.Device, *since)
		return nil
	}
	tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "TIME\t%s (%s)\t\n", strings.ToUpper(resp.Field), resp.Unit)
	for _, p := range resp.Points {
		fmt.Fprintf(tw, "%s\t%s\t\n", p.Time.Local().Format("2006-01-02 15:04:05"), strconv.FormatFloat(p.Value, 'f', -1, 64))
	}
	return tw.Flush()
}

// parseSince reads a duration, also in whole days ("7d").
func parseSince(s string) (time.Duration, error) {
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n <= 0 {
			return 0, fmt.Errorf("not a number of days")
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("not a positive duration")
	}
	return d, nil
}
