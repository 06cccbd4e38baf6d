package console

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/shouwang-hub/shouwang"
	"github.com/shouwang-hub/shouwang/accounts"
)

// Browser sessions: a random token in an HttpOnly cookie, stored hashed as
// a token of kind "session", whose expiry slides forward while it is used.
const (
	sessionCookie = "sw_session"
	// sessionTTL is a duty shift: a session unused this long ends.
	sessionTTL = 12 * time.Hour
	// sessionRenewEvery bounds how often a session's expiry is written, so
	// that a busy page does not cost a store write per request.
	sessionRenewEvery = time.Minute
	// maxRenewals bounds the sessions whose last renewal is remembered.
	maxRenewals = 10_000
)

// sessionResponse answers a browser login. The session token itself is
// only ever in the cookie, out of reach of scripts on the page.
type sessionResponse struct {
	User      *accounts.User `json:"user"`
	CSRFToken string         `json:"csrf_token"`
	ExpiresAt time.Time      `json:"expires_at"`
}

// startSession logs u in, who gave the password whose stored hash is
// pwHash, with a new session cookie, ending the session the request came
// with, if any.
func (s *Server) startSession(w http.ResponseWriter, r *http.Request, u *accounts.User, pwHash string, now time.Time) {
	if c, err := r.Cookie(sessionCookie); err == nil && c.Value != "" {
		h := tokenHash(c.Value)
		if err := s.cfg.Accounts.DeleteToken(r.Context(), h); err != nil && shouwang.ErrorCode(err) != shouwang.ENOTFOUND {
			s.log.Warn("end previous session", "username", u.Username, "err", err)
		}
		s.renewals.forget(h)
	}
	token, expires := newToken(), now.Add(sessionTTL)
	h := tokenHash(token)
	if err := s.issueToken(r.Context(), u, pwHash, accounts.TokenSession, "browser", h, expires); err != nil {
		s.writeError(w, r, fmt.Errorf("create session: %w", err))
		return
	}
	s.renewals.renewed(h, now)
	http.SetCookie(w, &http.Cookie{
		Name:     sessionCookie,
		Value:    token,
		Path:     "/",
		HttpOnly: true,
		Secure:   secureRequest(r),
		SameSite: http.SameSiteStrictMode,
		// No Expires: the store holds the sliding expiry, and the cookie
		// goes when the browser closes.
	})
	s.log.Info("login", "username", u.Username, "kind", accounts.TokenSession, "remote", r.RemoteAddr)
	writeJSON(w, http.StatusOK, sessionResponse{User: u, CSRFToken: csrfToken(token), ExpiresAt: expires})
}

// cookieSession authenticates a browser session from its cookie's token.
func (s *Server) cookieSession(r *http.Request, token string) (*session, error) {
	h := tokenHash(token)
	u, err := s.tokenUser(r.Context(), h, accounts.TokenSession, "session expired or ended; log in again")
	if err != nil {
		return nil, err
	}
	if unsafeMethod(r.Method) {
		if err := s.sameOrigin(r); err != nil {
			return nil, err
		}
		if !validCSRF(token, r.Header.Get(csrfHeader)) {
			return nil, shouwang.Errorf(shouwang.EFORBIDDEN, "missing or invalid CSRF token")
		}
	}
	s.renew(r.Context(), u, h)
	return &session{user: u, kind: accounts.TokenSession, tokenHash: h, csrf: csrfToken(token)}, nil
}

// renew slides a session's expiry to sessionTTL from now, at most once per
// sessionRenewEvery. A failure is logged: the session is still good for now.
func (s *Server) renew(ctx context.Context, u *accounts.User, h string) {
	now := s.cfg.Now()
	if !s.renewals.due(h, now) {
		return
	}
	err := s.cfg.Accounts.TouchToken(ctx, h, now, now.Add(sessionTTL))
	if err != nil && shouwang.ErrorCode(err) != shouwang.ENOTFOUND { // not found: ended meanwhile
		s.log.Warn("renew session", "username", u.Username, "err", err)
	}
}

// meResponse tells the page who is logged in and the CSRF token to send.
type meResponse struct {
	User      *accounts.User `json:"user"`
	CSRFToken string         `json:"csrf_token,omitempty"`
}

// me answers GET /api/v1/me: the page asks on load whether it is logged in.
func (s *Server) me(w http.ResponseWriter, r *http.Request) {
	sess := sessionFrom(r.Context())
	writeJSON(w, http.StatusOK, meResponse{User: sess.user, CSRFToken: sess.csrf})
}

func hasSessionCookie(r *http.Request) bool {
	_, err := r.Cookie(sessionCookie)
	return err == nil
}

// clearSessionCookie tells the browser to drop the session cookie.
func clearSessionCookie(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{
		Name:     sessionCookie,
		Value:    "",
		Path:     "/",
		MaxAge:   -1,
		HttpOnly: true,
		Secure:   secureRequest(r),
		SameSite: http.SameSiteStrictMode,
	})
}

// renewals remembers when each session's expiry was last moved, in memory:
// after a restart each session is renewed once more than needed.
type renewals struct {
	mu   sync.Mutex
	last map[string]time.Time // by token hash
}

func newRenewals() *renewals { return &renewals{last: make(map[string]time.Time)} }

// due reports whether the session with hash h should be renewed at now, and
// if so counts it as renewed, so that parallel requests renew it once.
func (rn *renewals) due(h string, now time.Time) bool {
	rn.mu.Lock()
	defer rn.mu.Unlock()
	if last, ok := rn.last[h]; ok && now.Sub(last) < sessionRenewEvery && !now.Before(last) {
		return false
	}
	rn.put(h, now)
	return true
}

// renewed records that the session with hash h got its expiry at now.
func (rn *renewals) renewed(h string, now time.Time) {
	rn.mu.Lock()
	defer rn.mu.Unlock()
	rn.put(h, now)
}

func (rn *renewals) put(h string, now time.Time) {
	if _, ok := rn.last[h]; !ok && len(rn.last) >= maxRenewals {
		// Entries older than sessionRenewEvery would be renewed anyway.
		for k, t := range rn.last {
			if now.Sub(t) >= sessionRenewEvery || now.Before(t) {
				delete(rn.last, k)
			}
		}
		if len(rn.last) >= maxRenewals {
			clear(rn.last) // costs one extra write per live session
		}
	}
	rn.last[h] = now
}

// forget drops a session that ended.
func (rn *renewals) forget(h string) {
	rn.mu.Lock()
	defer rn.mu.Unlock()
	delete(rn.last, h)
}

// size returns the number of sessions remembered; for tests.
func (rn *renewals) size() int {
	rn.mu.Lock()
	defer rn.mu.Unlock()
	return len(rn.last)
}
