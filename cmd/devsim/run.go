package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/shouwang-hub/shouwang/devices"
	"github.com/shouwang-hub/shouwang/internal/sim"
)

const progressEvery = 10 * time.Second

func cmdRun(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("run", "[flags]", stderr)
	broker := fs.String("mqtt", "tcp://127.0.0.1:1883", "MQTT broker URL (tls://host:8883 for MQTT over TLS)")
	cafile := caFlag(fs)
	creds := fs.String("creds", "data/demo-devices", "directory written by devsim seed")
	control := fs.String("control", "127.0.0.1:8091", "loopback address of the control endpoint for devsim trigger (empty: none)")
	speedup := fs.Float64("speedup", 1, "divide every reporting interval by this factor")
	concurrency := fs.Int("concurrency", sim.DefaultConnectConcurrency, "devices connecting at once")
	answerCalls := fs.Bool("answer-call-requests", false, "offer a voice call when the hub sends a call_request (an operator calling back)")
	callClip := fs.String("call-clip", "", "Ogg/Opus clip the devices' calls stream (default: the built-in spoken clip)")
	callRecord := fs.String("call-record", "", "directory where calls record what the device hears, as DEVICE-CALL.ogg (default: none)")
	verbose := fs.Bool("v", false, "log debug detail")
	if err := parse(fs, args); err != nil {
		return err
	}
	switch {
	case fs.NArg() > 0:
		return badUsage(fs, "unexpected arguments %q", fs.Args())
	case *speedup <= 0:
		return badUsage(fs, "-speedup must be positive")
	case *concurrency < 1:
		return badUsage(fs, "-concurrency must be at least 1")
	}
	if *control != "" {
		if err := checkLoopback(*control); err != nil {
			return badUsage(fs, "-control %s", err)
		}
	}
	if *callRecord != "" {
		if err := os.MkdirAll(*callRecord, 0o755); err != nil {
			return fmt.Errorf("-call-record: %w", err)
		}
	}
	tc, err := tlsConfig(*cafile)
	if err != nil {
		return err
	}
	specs, err := sim.LoadCredentials(*creds)
	if err != nil {
		return err
	}
	vendors, err := sim.LoadVendors(*creds)
	if err != nil {
		return err
	}
	every := sim.DefaultTelemetryEvery()
	for k, d := range every {
		every[k] = time.Duration(float64(d) / *speedup)
	}
	log := newLogger(stderr, *verbose)
	s, err := sim.New(sim.Config{
		BrokerURL:          *broker,
		TLSConfig:          tc,
		Devices:            specs,
		TelemetryEvery:     every,
		ConnectConcurrency: *concurrency,
		AnswerCallRequests: *answerCalls,
		CallClip:           *callClip,
		CallRecordDir:      *callRecord,
	}, log)
	if err != nil {
		return err
	}
	defer s.Close()
	vs := sim.NewVendorSim(vendors, *broker, tc, time.Duration(float64(time.Minute) / *speedup), log)
	vctx, stopVendors := context.WithCancel(ctx)
	vendorDone := make(chan error, 1)
	go func() { vendorDone <- vs.Run(vctx) }()
	defer func() {
		stopVendors()
		if err := <-vendorDone; err != nil && !errors.Is(err, context.Canceled) {
			log.Warn("vendor devices stopped", "err", err)
		}
	}()

	if *control != "" {
		ln, err := net.Listen("tcp", *control)
		if err != nil {
			return fmt.Errorf("control endpoint: %w", err)
		}
		srv := &http.Server{Handler: vs.Handler(s.ControlHandler()), ReadHeaderTimeout: 5 * time.Second}
		go func() {
			if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				log.Error("control endpoint failed", "err", err)
			}
		}()
		defer srv.Close()
		log.Info("control endpoint listening", "addr", ln.Addr().String())
	}

	go progress(ctx, s, stdout)
	return s.Run(ctx)
}

// progress prints a line every progressEvery until ctx is done.
func progress(ctx context.Context, s *sim.Sim, w io.Writer) {
	t := time.NewTicker(progressEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		st := s.Stats()
		fmt.Fprintf(w, "%s devsim: %d/%d devices connected, %d messages sent (%d events, %d telemetry, %d status), %d publish errors, %d connect errors, %d received\n",
			time.Now().Format(time.TimeOnly), st.Connected, st.Devices, st.Sent(),
			st.Published[devices.ChannelEvent], st.Published[devices.ChannelTelemetry], st.Published[devices.ChannelStatus],
			st.PublishErrors, st.ConnectErrors, st.Received)
	}
}

// checkLoopback refuses control addresses off the loopback interface: the
// control endpoint has no authentication.
func checkLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%q: want host:port", addr)
	}
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("%q: must be a loopback address such as 127.0.0.1:8091 (the endpoint has no authentication)", addr)
	}
	return nil
}
