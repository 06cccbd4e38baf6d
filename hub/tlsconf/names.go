package tlsconf

import (
	"fmt"
	"net"
	"os"
	"slices"
	"strings"
)

// ParseNames splits what a certificate is for into DNS names and IP
// addresses, refusing anything that is neither (a URL, a port, a space).
func ParseNames(names []string) (dns []string, ips []net.IP, err error) {
	for _, n := range names {
		if ip := net.ParseIP(n); ip != nil {
			ips = append(ips, ip)
			continue
		}
		if !validDNSName(n) {
			return nil, nil, fmt.Errorf("tlsconf: %q is neither a host name nor an IP address", n)
		}
		dns = append(dns, strings.ToLower(n))
	}
	return dns, ips, nil
}

// validDNSName accepts host names of letters, digits and hyphens in dot-
// separated labels (RFC 1123), as browsers match them.
func validDNSName(n string) bool {
	if n == "" || len(n) > 253 {
		return false
	}
	for _, label := range strings.Split(strings.TrimSuffix(n, "."), ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-') {
				return false
			}
		}
	}
	return true
}

// DefaultNames are the names and addresses the hub is reached by when none
// are configured: its host name (and host.local, which mDNS answers on many
// LANs), localhost, and every address of its network interfaces but
// link-local ones (which need a zone, and change).
func DefaultNames() []string {
	var names []string
	if h, err := os.Hostname(); err == nil && validDNSName(h) {
		names = append(names, strings.ToLower(h))
		if !strings.Contains(h, ".") {
			names = append(names, strings.ToLower(h)+".local")
		}
	}
	names = append(names, "localhost")
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		ipn, ok := a.(*net.IPNet)
		if !ok || ipn.IP.IsLinkLocalUnicast() || ipn.IP.IsLinkLocalMulticast() {
			continue
		}
		names = append(names, ipn.IP.String())
	}
	for _, lo := range []string{"127.0.0.1", "::1"} {
		if !slices.Contains(names, lo) {
			names = append(names, lo)
		}
	}
	return slices.Compact(names)
}
