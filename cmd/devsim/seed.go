package main

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"

	"github.com/shouwang-hub/shouwang/devices"
	"github.com/shouwang-hub/shouwang/internal/sim"
)

func cmdSeed(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("seed", "-server URL -token T [flags]", stderr)
	server := fs.String("server", "", "console base URL, e.g. http://127.0.0.1:8080 (required)")
	token := fs.String("token", os.Getenv("DEVSIM_TOKEN"), "console API token of an installer or admin (default $DEVSIM_TOKEN)")
	community := fs.String("community", "阳光社区", "community name")
	buildings := fs.Int("buildings", 4, "number of buildings")
	households := fs.Int("households", 12, "households per building")
	out := fs.String("out", "data/demo-devices", "directory to save the devices and their passwords in")
	seed := fs.Uint64("seed", 0, "random seed of the community (0: time-based)")
	force := fs.Bool("force", false, "overwrite credentials already saved in -out")
	withVendors := fs.Bool("vendors", true, "also register a Zigbee2MQTT bridge with a household's Zigbee devices, and a Shelly Gas")
	cafile := caFlag(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	switch {
	case fs.NArg() > 0:
		return badUsage(fs, "unexpected arguments %q", fs.Args())
	case *server == "":
		return badUsage(fs, "-server is required")
	case *token == "":
		return badUsage(fs, "-token (or $DEVSIM_TOKEN) is required")
	case *buildings < 1 || *households < 1:
		return badUsage(fs, "-buildings and -households must be at least 1")
	}
	client, err := httpClient(*cafile)
	if err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(*out, sim.CredentialsFile)); err == nil && !*force {
		return fmt.Errorf("%s already holds credentials; use -force to replace them, or another -out", *out)
	}
	if *seed == 0 {
		*seed = uint64(time.Now().UnixNano())
	}
	ds := sim.Community(*community, *buildings, *households, rand.New(rand.NewPCG(*seed, *seed)))
	specs, err := sim.RegisterWith(ctx, client, *server, *token, ds)
	if err != nil {
		return err
	}
	if err := sim.SaveCredentials(*out, specs); err != nil {
		return err
	}
	if *withVendors {
		v := sim.VendorCommunity(*community, rand.New(rand.NewPCG(*seed, *seed+1)))
		if err := sim.RegisterVendors(ctx, client, *server, *token, v); err != nil {
			return err
		}
		if err := sim.SaveVendors(*out, v); err != nil {
			return err
		}
		n := 0
		for _, b := range v.Bridges {
			n += len(b.Zigbee)
		}
		fmt.Fprintf(stdout, "registered %d Zigbee2MQTT bridge(s) with %d Zigbee devices, and %d Shelly device(s)\n", len(v.Bridges), n, len(v.Shellys))
	}
	kinds := map[devices.Kind]int{}
	for _, d := range ds {
		kinds[d.Kind]++
	}
	fmt.Fprintf(stdout, "registered %d devices of %s (%d sos buttons, %d smoke, %d gas, %d air); saved to %s\n",
		len(ds), *community, kinds[devices.KindSOSButton], kinds[devices.KindSmoke], kinds[devices.KindGas], kinds[devices.KindAir], *out)
	return nil
}
