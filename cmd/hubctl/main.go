// Command hubctl is the installer's, duty room's and administrator's command
// line for a Shouwang hub: log in, register devices one by one or from a CSV
// file, rotate their MQTT passwords, see unregistered devices knocking, read
// a device's telemetry, list, answer and review alerts, and manage console
// accounts, including creating the first admin in a fresh store, and move a
// stopped hub's SQLite store into PostgreSQL.
//
//	hubctl [-server URL] [-token TOKEN] COMMAND [flags] [args]
//
// The server defaults to $HUBCTL_SERVER or http://127.0.0.1:8080; the token
// to $HUBCTL_TOKEN or the one "hubctl login" saved. Exit status: 0 on
// success, 1 when the command failed, 2 for a usage error.
package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"time"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

const usage = `Usage: hubctl [-server URL] [-token TOKEN] COMMAND [flags] [args]

Commands:
  login -user NAME [-password-stdin] [-print-token]   log in and save the token
  logout                               end the session and forget the token
  devices list [-community C] [-grid G] [-building B] [-kind K] [-online true|false] [-q TEXT] [-json]
  devices get ID [-json]
  devices create -id ID -kind KIND -community C [more flags; see devices create -h]
  devices delete ID
  devices import FILE.csv [-out creds.csv]
  devices rotate-password ID
  devices unregistered
  devices discovered [-gateway ID] [-all] [-json]   devices the Zigbee2MQTT bridges report, unbound ones
  devices bind -gateway BRIDGE -name NAME -id ID -community C [location flags]
                                       register a discovered device without typing its address
  devices selftest ID                  start a vendor device's self-test (recorded as a test)
  telemetry ID -field FIELD [-since 24h] [-every 1m] [-json]
  alerts list [-state new,accepted|open] [-severity S] [-kind K] [-community C] [-device ID] [-since 24h] [-test] [-json]
  alerts get ID [-json]
  alerts accept ID [-note TEXT]
  alerts dispatch ID -to WHO [-note TEXT]
  alerts resolve ID -outcome genuine|false_alarm|referred|duplicate [-note TEXT]
  alerts close ID [-note TEXT]
  alerts note ID -note TEXT
  alerts stats [-since 24h] [-json]
  users list [-json]                   (admin) list console accounts
  users create -username NAME -role operator|supervisor|installer|admin [-password-stdin]
  users disable USERNAME|ID            the account can no longer log in; its sessions and tokens stop working
  users enable USERNAME|ID
  users reset-password USERNAME|ID [-password-stdin]
  decode [FILE]                        read captured device messages as JSON lines
                                       {"source","model","topic","payload"} and print what the hub
                                       makes of each, one JSON line per input, keeping each
                                       device's state across lines as the hub does; offline
  broker export -passwd FILE -acl FILE (admin) mosquitto's password and ACL files for the registry,
                                       once, for a mosquitto set up by hand (hub -mosquitto-dir keeps them current)
  instances [-json]                    the hub instances sharing the store: heartbeat, what each owns
  bootstrap-admin [-data DIR] [-db PATH] < password
                                       create the first account, "admin", directly in the hub's
                                       SQLite store (default $HUB_DATA_DIR or ./data, file hub.db)
                                       when it has no account yet; reads the password from stdin
                                       (prompts on a terminal); needs no running hub and no token
  migrate [-data DIR] [-from PATH] -to postgres://… [-sample 50]
                                       copy a stopped hub's SQLite store (default DIR/hub.db) into an
                                       empty PostgreSQL database, then check every table's row count
                                       and a sample of rows, devices, accounts and alerts

Passwords of console accounts are at least 8 characters.

Global flags:
  -server URL    hub console (default $HUBCTL_SERVER or http://127.0.0.1:8080)
  -token TOKEN   API token (default $HUBCTL_TOKEN or the one saved by login)
  -cafile FILE   CA certificate(s) to verify an https:// server with (default $HUBCTL_CAFILE;
                 the hub's own CA in -tls auto is <data>/tls/ca.crt, also at https://HUB/ca.crt)
`

// usageError is a mistake in the command line; it exits with status 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

// errUsageShown is a usage error the flag package has already printed.
var errUsageShown = usageError{}

// cli is one run of hubctl.
type cli struct {
	ctx     context.Context
	server  string
	token   string // from -token or $HUBCTL_TOKEN; the saved one is read when needed
	stdin   io.Reader
	stdout  io.Writer
	stderr  io.Writer
	http    *http.Client
	now     func() time.Time
	cfgFile func() (string, error) // where login saves the token
}

// run is hubctl with its arguments and standard streams; it returns the exit
// status.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	fs := flag.NewFlagSet("hubctl", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, usage) }
	server := fs.String("server", envOr("HUBCTL_SERVER", "http://127.0.0.1:8080"), "hub console URL")
	token := fs.String("token", "", "API token (default $HUBCTL_TOKEN or the one saved by login)")
	cafile := fs.String("cafile", os.Getenv("HUBCTL_CAFILE"), "CA certificate(s) to verify the hub's HTTPS with")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	client, err := httpClient(*cafile)
	if err != nil {
		fmt.Fprintf(stderr, "hubctl: %v\n", err)
		return 2
	}
	c := &cli{
		ctx:     ctx,
		server:  strings.TrimRight(*server, "/"),
		token:   cmp.Or(*token, os.Getenv("HUBCTL_TOKEN")), // not a flag default: -h would print it
		stdin:   stdin,
		stdout:  stdout,
		stderr:  stderr,
		http:    client,
		now:     time.Now,
		cfgFile: tokenFile,
	}
	err = c.dispatch(fs.Args())
	var ue usageError
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &ue):
		if ue.msg != "" {
			fmt.Fprintf(stderr, "hubctl: %s\n", ue.msg)
			fmt.Fprintln(stderr, "Run 'hubctl -h' for usage.")
		}
		return 2
	default:
		fmt.Fprintf(stderr, "hubctl: %v\n", err)
		return 1
	}
}

func (c *cli) dispatch(args []string) error {
	if len(args) == 0 {
		fmt.Fprint(c.stderr, usage)
		return errUsageShown
	}
	cmd, args := args[0], args[1:]
	switch cmd {
	case "login":
		return c.login(args)
	case "logout":
		return c.logout(args)
	case "devices":
		return c.devices(args)
	case "telemetry":
		return c.telemetry(args)
	case "alerts":
		return c.alerts(args)
	case "users":
		return c.users(args)
	case "broker":
		return c.broker(args)
	case "instances":
		return c.instances(args)
	case "bootstrap-admin":
		return c.bootstrapAdmin(args)
	case "decode":
		return c.decode(args)
	case "migrate":
		return c.migrateStore(args)
	case "help":
		fmt.Fprint(c.stdout, usage)
		return nil
	}
	return usagef("unknown command %q", cmd)
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// newFlags returns a flag set for a subcommand that reports its errors as
// usage errors.
func (c *cli) newFlags(name, synopsis string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(c.stderr)
	fs.Usage = func() {
		fmt.Fprintf(c.stderr, "Usage: hubctl %s\n", synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// parse parses flags and positional arguments in any order and checks the
// number of positional ones.
func parse(fs *flag.FlagSet, args []string, positional ...string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, errUsageShown
		}
		if args = fs.Args(); len(args) == 0 {
			break
		}
		pos, args = append(pos, args[0]), args[1:]
	}
	if len(pos) != len(positional) {
		if len(pos) < len(positional) {
			return nil, usagef("%s: missing %s", fs.Name(), strings.Join(positional[len(pos):], " "))
		}
		return nil, usagef("%s: unexpected argument %q", fs.Name(), pos[len(positional)])
	}
	return pos, nil
}
