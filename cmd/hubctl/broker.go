package main

import (
	"fmt"
	"net/http"

	"github.com/shouwang-hub/shouwang/console"
	"github.com/shouwang-hub/shouwang/internal/atomicfile"
)

func (c *cli) broker(args []string) error {
	if len(args) == 0 {
		return usagef("broker: missing subcommand (export)")
	}
	sub, args := args[0], args[1:]
	switch sub {
	case "export":
		return c.brokerExport(args)
	}
	return usagef("broker: unknown subcommand %q", sub)
}

// brokerExport writes mosquitto's password and ACL files for the registry
// as it is now, once, for a mosquitto set up by hand. A hub started with
// -mosquitto-dir keeps such files current by itself.
func (c *cli) brokerExport(args []string) error {
	fs := c.newFlags("broker export", "broker export -passwd FILE -acl FILE")
	passwd := fs.String("passwd", "", "mosquitto password_file to write (required)")
	acl := fs.String("acl", "", "mosquitto acl_file to write (required)")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	if *passwd == "" || *acl == "" {
		return usagef("broker export: -passwd and -acl are required")
	}
	var f console.BrokerFiles
	if err := c.call(request{method: http.MethodGet, path: "/api/v1/broker/mosquitto", auth: true}, &f); err != nil {
		return err
	}
	// The password file holds every device's password hash: readable by
	// its owner and group (mosquitto's) only.
	if err := atomicfile.Write(*passwd, []byte(f.Passwd), 0o640); err != nil {
		return err
	}
	if err := atomicfile.Write(*acl, []byte(f.ACL), 0o640); err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "wrote %s and %s\n", *passwd, *acl)
	for _, n := range f.Notes {
		fmt.Fprintf(c.stderr, "note: %s\n", n)
	}
	return nil
}
