package parts

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"time"
)

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago. The
// port is released before FreePort returns, so another process may take it;
// the servers in this package retry with a new port if that happens.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// startOnFreePorts starts a server for the first time: it sets ports to free
// ones, writes the config for them and starts p. Another process may take a
// port between FreePort and the server binding it, which the server reports
// by exiting with "in use"; then it tries new ports, three times in all. On
// failure the ports are zero again, so the next start is a first one too.
func startOnFreePorts(p *Proc, ports []*int, writeConfig func() error, ready func() bool, timeout time.Duration) error {
	var err error
	for attempt := 0; attempt < 3; attempt++ {
		for _, port := range ports {
			if *port, err = FreePort(); err != nil {
				err = fmt.Errorf("%s: %w", p.Name, err)
				break
			}
		}
		if err == nil {
			err = writeConfig()
		}
		if err != nil {
			break
		}
		err = p.Start(ready, timeout)
		if err == nil || !errors.Is(err, ErrExited) || !strings.Contains(err.Error(), "in use") {
			break
		}
	}
	if err != nil {
		for _, port := range ports {
			*port = 0
		}
	}
	return err
}
