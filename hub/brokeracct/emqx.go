package brokeracct

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
)

// EMQX 5 asks an HTTP service whether a client may connect (its HTTP
// authenticator) and whether it may publish or subscribe (its HTTP
// authorizer). It POSTs a JSON body made from a template the operator
// configures — docs/operations.md gives the exact ones — and reads a JSON
// answer: {"result": "allow"|"deny"|"ignore", "is_superuser": false} for
// the first, {"result": ...} for the second. An answer other than 200 or
// 204 counts as "ignore", so the hub answers every decision with 200 and
// uses 400 and 401 only for a request it cannot take at all.

// Paths under which the handler answers, relative to where it is mounted
// (the console mounts it at /api/v1/broker/emqx/).
const (
	AuthnPath = "authn"
	AuthzPath = "authz"
)

// maxEMQXBody bounds a request: a client ID, a username, a password or a
// topic, and the template's other placeholders.
const maxEMQXBody = 16 << 10

type authnRequest struct {
	ClientID string `json:"clientid"`
	Username string `json:"username"`
	Password string `json:"password"`
}

type authzRequest struct {
	ClientID string `json:"clientid"`
	Username string `json:"username"`
	Topic    string `json:"topic"`
	Action   string `json:"action"`
}

type authnResponse struct {
	Result      string `json:"result"`
	IsSuperuser bool   `json:"is_superuser"`
}

type authzResponse struct {
	Result string `json:"result"`
}

// stats count the answers given.
type stats struct {
	authn, authz [3]atomic.Int64 // by result: allow, deny, ignore
	refused      atomic.Int64    // requests without the secret, or malformed
}

// Stats are the counts of the HTTP endpoints' answers.
type Stats struct {
	Authn, Authz map[string]int64 // by result
	Refused      int64            // requests without the shared secret, or not JSON
}

// Stats returns the answers given so far.
func (a *Accounts) Stats() Stats {
	st := Stats{Authn: map[string]int64{}, Authz: map[string]int64{}, Refused: a.stats.refused.Load()}
	for i, r := range []string{Allow, Deny, Ignore} {
		st.Authn[r] = a.stats.authn[i].Load()
		st.Authz[r] = a.stats.authz[i].Load()
	}
	return st
}

func count(c *[3]atomic.Int64, result string) {
	switch result {
	case Allow:
		c[0].Add(1)
	case Deny:
		c[1].Add(1)
	default:
		c[2].Add(1)
	}
}

// EMQXHandler serves EMQX's HTTP authenticator at AuthnPath and its HTTP
// authorizer at AuthzPath (strip the prefix it is mounted under). Every
// request must carry "Authorization: Bearer <secret>", the shared secret
// configured as a header in EMQX, so that nobody else can ask the hub which
// passwords are right.
func (a *Accounts) EMQXHandler(secret string) http.Handler {
	want := sha256.Sum256([]byte(secret))
	authorized := func(r *http.Request) bool {
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		sum := sha256.Sum256([]byte(got))
		return ok && secret != "" && subtle.ConstantTimeCompare(sum[:], want[:]) == 1
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /"+AuthnPath, func(w http.ResponseWriter, r *http.Request) {
		var req authnRequest
		if !a.take(w, r, authorized(r), &req) {
			return
		}
		d := a.Authenticate(req.ClientID, req.Username, req.Password)
		count(&a.stats.authn, d.Result)
		if d.Result == Deny {
			a.log.Debug("EMQX authentication denied", "username", clip(req.Username), "client_id", clip(req.ClientID), "why", d.Reason)
		}
		answer(w, authnResponse{Result: d.Result})
	})
	mux.HandleFunc("POST /"+AuthzPath, func(w http.ResponseWriter, r *http.Request) {
		var req authzRequest
		if !a.take(w, r, authorized(r), &req) {
			return
		}
		d := a.Authorize(req.ClientID, req.Username, req.Topic, req.Action)
		count(&a.stats.authz, d.Result)
		if d.Result == Deny {
			a.log.Debug("EMQX authorization denied", "username", clip(req.Username), "topic", clip(req.Topic), "action", clip(req.Action), "why", d.Reason)
		}
		answer(w, authzResponse{Result: d.Result})
	})
	return mux
}

// take checks the secret and decodes the body into v, answering the
// request itself (401, 400) when it cannot be taken.
func (a *Accounts) take(w http.ResponseWriter, r *http.Request, authorized bool, v any) bool {
	if !authorized {
		a.stats.refused.Add(1)
		http.Error(w, `{"error":"missing or wrong shared secret"}`, http.StatusUnauthorized)
		return false
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxEMQXBody))
	if err := dec.Decode(v); err != nil {
		a.stats.refused.Add(1)
		msg := "the body must be a JSON object (EMQX: body = {…})"
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			msg = "the body is too large"
		}
		http.Error(w, `{"error":"`+msg+`"}`, http.StatusBadRequest)
		return false
	}
	if _, err := dec.Token(); err != io.EOF {
		a.stats.refused.Add(1)
		http.Error(w, `{"error":"one JSON object only"}`, http.StatusBadRequest)
		return false
	}
	return true
}

func answer(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	json.NewEncoder(w).Encode(v)
}

// clip bounds what a log line repeats of a client's input.
func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}
