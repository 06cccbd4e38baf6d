package main

import (
	"fmt"
	"net/http"
	"time"

	"github.com/shouwang-hub/shouwang/hub/tlsconf"
)

// httpClient is hubctl's client of the console: a long timeout (a large
// import hashes many passwords) and, with cafile, trust in the CAs in it,
// such as the hub's local CA.
func httpClient(cafile string) (*http.Client, error) {
	c := &http.Client{Timeout: 10 * time.Minute}
	if cafile == "" {
		return c, nil
	}
	tc, err := tlsconf.ClientConfig(cafile)
	if err != nil {
		return nil, fmt.Errorf("-cafile: %w", err)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = tc
	c.Transport = tr
	return c, nil
}
