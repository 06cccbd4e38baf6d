package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"

	"github.com/shouwang-hub/shouwang/devices/vendors"
)

// decode is the installer's offline check of a capture: JSON lines in, one
// JSON line out per input, with per-device state kept across lines exactly
// as the hub keeps it (vendors.Session runs the hub's own code). It needs
// no hub and no token.
//
//	{"source":"zigbee2mqtt","model":"HS1SA-E","topic":"zigbee2mqtt/kitchen","payload":{"smoke":true}}
//	→ {"events":["smoke"]}
func (c *cli) decode(args []string) error {
	fs := c.newFlags("decode", "decode [FILE]   (reads standard input without FILE)")
	if err := fs.Parse(args); err != nil {
		return errUsageShown
	}
	pos := fs.Args()
	if len(pos) > 1 {
		return usagef("decode: at most one file")
	}
	in := c.stdin
	if len(pos) == 1 {
		f, err := os.Open(pos[0])
		if err != nil {
			return err
		}
		defer f.Close()
		in = f
	}
	s := vendors.NewSession()
	s.Now = c.now
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 64<<10), 16<<20) // bridge/devices runs to megabytes
	enc := json.NewEncoder(c.stdout)
	enc.SetEscapeHTML(false)
	n := 0
	for sc.Scan() {
		n++
		line := sc.Bytes()
		if len(line) == 0 {
			continue
		}
		var input vendors.Input
		var out vendors.Output
		if err := json.Unmarshal(line, &input); err != nil {
			out = vendors.Output{Rejected: fmt.Sprintf("line %d: not a decode input: %v", n, err)}
		} else {
			out = s.Decode(input)
		}
		if err := enc.Encode(out); err != nil {
			return err
		}
	}
	return sc.Err()
}
