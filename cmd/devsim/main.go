// Command devsim simulates a community of Shouwang devices over MQTT.
//
//	devsim seed    -server URL -token T [-cafile CA] [-community 阳光社区] [-buildings 4] [-households 12] [-out data/demo-devices]
//	devsim run     [-mqtt tcp://127.0.0.1:1883 | tls://HOST:8883 -cafile CA] [-creds data/demo-devices] [-control 127.0.0.1:8091] [-speedup N] [-answer-call-requests]
//	devsim trigger [-control 127.0.0.1:8091] press|checkin|test|smoke|smoke-clear|gas|gas-clear|silence|resume|call|hangup DEVICE-ID
//	devsim event   [-mqtt URL] [-cafile CA] [-creds data/demo-devices] press|checkin|test|smoke|smoke-clear|gas|gas-clear DEVICE-ID
//
// seed generates a demo community, registers it with the console and saves
// the devices and their MQTT passwords; run simulates them; trigger acts on
// a running simulation through its loopback control endpoint (call places
// a WebRTC voice call that streams a spoken clip until hung up); event sends
// one event as one device when no simulation is running (a simulation of
// the same device would be taken over by the broker).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
)

const usage = `devsim simulates Shouwang devices over MQTT.

Usage:
  devsim seed    -server URL -token T [-cafile CA] [-community NAME] [-buildings N] [-households N] [-out DIR]
  devsim run     [-mqtt URL] [-cafile CA] [-creds DIR] [-control ADDR] [-speedup N] [-answer-call-requests]
  devsim trigger [-control ADDR] ACTION DEVICE-ID
  devsim event   [-mqtt URL] [-cafile CA] [-creds DIR] ACTION DEVICE-ID

The MQTT URL is tcp://host:1883, or tls://host:8883 for MQTT over TLS; -cafile
names the CA certificate to trust for it and for an https:// -server (the
hub's local CA is <data>/tls/ca.crt).

Actions: press, checkin, test, smoke, smoke-clear, gas, gas-clear, and for trigger also
silence (drop the connection so the broker sends the last will), resume,
call (offer a voice call that streams a spoken clip until hung up) and hangup.

Run "devsim COMMAND -h" for a command's flags.
`

// errUsage marks a mistake on the command line that has been reported,
// with the command's usage, already.
var errUsage = errors.New("usage")

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "-help" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stderr, usage)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	cmds := map[string]func(context.Context, []string, io.Writer, io.Writer) error{
		"seed":    cmdSeed,
		"run":     cmdRun,
		"trigger": cmdTrigger,
		"event":   cmdEvent,
	}
	cmd, ok := cmds[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "devsim: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	err := cmd(ctx, args[1:], stdout, stderr)
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		return 2
	default:
		fmt.Fprintf(stderr, "devsim %s: %v\n", args[0], err)
		return 1
	}
}

// newFlags returns a flag set that reports errors instead of exiting.
func newFlags(name, synopsis string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("devsim "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: devsim %s %s\n\nFlags:\n", name, synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// parse parses args; the flag package has reported any error with the usage.
func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	return nil
}

// badUsage reports a command-line mistake and the command's usage.
func badUsage(fs *flag.FlagSet, format string, args ...any) error {
	fmt.Fprintf(fs.Output(), "%s: %s\n", fs.Name(), fmt.Sprintf(format, args...))
	fs.Usage()
	return errUsage
}

func newLogger(stderr io.Writer, verbose bool) *slog.Logger {
	level := slog.LevelInfo
	if verbose {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
}
