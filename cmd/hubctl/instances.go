package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/shouwang-hub/shouwang/console"
)

// instances lists the hub instances sharing the store: alive or not,
// their last heartbeat and the leases each holds (what it owns).
func (c *cli) instances(args []string) error {
	fs := c.newFlags("instances", "instances [-json]")
	asJSON := fs.Bool("json", false, "print the server's JSON")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	var out console.InstancesResponse
	if err := c.call(request{method: http.MethodGet, path: "/api/v1/instances", auth: true}, &out); err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(c.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	t := &table{}
	t.add("NAME", "STATE", "HEARTBEAT", "STARTED", "OWNS", "URL")
	for _, x := range out.Instances {
		state := "alive"
		switch {
		case x.Stopped:
			state = "stopped"
		case !x.Alive:
			state = "dead"
		}
		if x.Self {
			state += " (answering)"
		}
		t.add(x.Name, state, ago(c.now(), x.Heartbeat), x.StartedAt.Local().Format(time.DateTime),
			strings.Join(x.Leases, ","), x.URL)
	}
	return t.print(c.stdout)
}

// ago says how long before now t was, in whole seconds.
func ago(now, t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return fmt.Sprintf("%ds ago", int(now.Sub(t).Seconds()))
}
