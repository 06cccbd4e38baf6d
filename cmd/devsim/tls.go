package main

import (
	"crypto/tls"
	"flag"
	"fmt"
	"net/http"
	"os"

	"github.com/shouwang-hub/shouwang/hub/tlsconf"
)

// caFlag registers -cafile: the CA certificate(s) that the hub's HTTPS and
// MQTT-over-TLS certificates are verified with, such as the hub's local CA
// (<data>/tls/ca.crt).
func caFlag(fs *flag.FlagSet) *string {
	return fs.String("cafile", os.Getenv("DEVSIM_CAFILE"), "CA certificate(s) (PEM) to verify the hub's TLS certificate with, e.g. data/tls/ca.crt (default $DEVSIM_CAFILE; empty: the system's)")
}

// tlsConfig returns the TLS settings that trust the CAs in cafile, or nil
// (the system's CAs) when it is empty.
func tlsConfig(cafile string) (*tls.Config, error) {
	if cafile == "" {
		return nil, nil
	}
	tc, err := tlsconf.ClientConfig(cafile)
	if err != nil {
		return nil, fmt.Errorf("-cafile: %w", err)
	}
	return tc, nil
}

// httpClient returns an HTTP client trusting the CAs in cafile.
func httpClient(cafile string) (*http.Client, error) {
	tc, err := tlsConfig(cafile)
	if err != nil || tc == nil {
		return http.DefaultClient, err
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = tc
	return &http.Client{Transport: tr}, nil
}
