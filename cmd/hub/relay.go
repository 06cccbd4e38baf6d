package main

import (
	"context"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"

	"github.com/shouwang-hub/shouwang/console"
	"github.com/shouwang-hub/shouwang/hub"
)

// Calls across instances: a call lives on the instance that took the
// device's offer (its relay holds the device's media and records it). A
// console connected to another instance answers, hangs up and plays
// recordings through the API as always; this instance relays those
// requests to the call's instance, as they came — the session cookie or
// token, the CSRF token and the Host header the browser used, so that
// instance checks them as its own (sessions live in the shared store). The
// answer's SDP then names the call's instance's media addresses, so the
// browser's audio goes there directly. Relaying rather than redirecting:
// a redirect would send the browser to another origin, where its session
// cookie is not sent and a cross-origin POST is refused.

// relayedHeader marks a relayed request, so it is never relayed again.
const relayedHeader = "X-Shouwang-Relayed-By"

// callClaims is the store's call claims with -instance, nil for a hub
// alone.
func (m *Main) callClaims() hub.CallClaimer {
	if m.instances == nil {
		return nil
	}
	return m.store
}

// relayCalls relays the requests for a call taken by another live
// instance to it.
func (m *Main) relayCalls(next http.Handler) http.Handler {
	if m.instances == nil {
		return next
	}
	self := m.Config.Instance.Name
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, ok := callInPath(r.URL.Path)
		if !ok || r.Header.Get(relayedHeader) != "" {
			next.ServeHTTP(w, r)
			return
		}
		owner, to, err := m.store.CallOwner(r.Context(), id)
		if err != nil || owner == self || to == "" || !m.instances.Alive(owner) {
			next.ServeHTTP(w, r) // answered here: not found, or this instance's own
			return
		}
		target, err := url.Parse(to)
		if err != nil {
			next.ServeHTTP(w, r)
			return
		}
		proxy := &httputil.ReverseProxy{
			Rewrite: func(pr *httputil.ProxyRequest) {
				pr.SetURL(target)
				pr.Out.Host = pr.In.Host // the origin checks compare with it
				pr.Out.Header.Set(relayedHeader, self)
			},
			ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
				m.Logger.Warn("relay a call request to its instance", "call", id, "instance", owner, "err", err)
				http.Error(w, `{"error":"the call's hub instance did not answer","code":"unavailable"}`, http.StatusBadGateway)
			},
		}
		m.Logger.Debug("relaying a call request", "call", id, "instance", owner, "path", r.URL.Path)
		proxy.ServeHTTP(w, r)
	})
}

// callInPath returns the call ID of /api/v1/calls/{id}/… (not the
// ice-servers list, which every instance answers).
func callInPath(p string) (string, bool) {
	rest, ok := strings.CutPrefix(p, "/api/v1/calls/")
	if !ok {
		return "", false
	}
	id, _, _ := strings.Cut(rest, "/")
	if id == "" || id == "ice-servers" {
		return "", false
	}
	return id, true
}

// listInstances answers GET /api/v1/instances.
func (m *Main) listInstances() console.InstanceLister {
	if m.instances == nil && m.leases == nil {
		return nil
	}
	return func(ctx context.Context) ([]console.Instance, error) {
		var list []hub.InstanceInfo
		if m.instances != nil {
			var err error
			if list, err = m.instances.List(ctx); err != nil {
				return nil, err
			}
		} else {
			list = []hub.InstanceInfo{{Name: "hub", Alive: true, Self: true}}
			for _, l := range m.leases.Held() {
				list[0].Leases = append(list[0].Leases, l.Name)
			}
		}
		out := make([]console.Instance, len(list))
		for i, x := range list {
			out[i] = console.Instance(x)
		}
		return out, nil
	}
}
