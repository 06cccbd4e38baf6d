package console

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/shouwang-hub/shouwang"
	"github.com/shouwang-hub/shouwang/accounts"
)

// tokenTTL is how long an API token from login lasts.
const tokenTTL = 30 * 24 * time.Hour

// maxUsernameLen bounds the usernames login looks up (and throttles).
const maxUsernameLen = 128

// newToken returns a fresh random token: 32 bytes, base64url.
func newToken() string {
	b := make([]byte, 32)
	rand.Read(b) // never fails; see crypto/rand
	return base64.RawURLEncoding.EncodeToString(b)
}

// tokenHash is what the account store keeps of a token.
func tokenHash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// session is who made a request, and with which token.
type session struct {
	user      *accounts.User
	kind      accounts.TokenKind
	tokenHash string
	// csrf is the browser session's CSRF token; empty for API tokens.
	csrf string
}

type sessionKey struct{}

func sessionFrom(ctx context.Context) *session {
	s, _ := ctx.Value(sessionKey{}).(*session)
	return s
}

// authenticate finds who made r: a script's API token in
// "Authorization: Bearer", or else a browser's session cookie. A request
// that changes state (any method but GET, HEAD, OPTIONS, TRACE) on the
// strength of the cookie must also come from the console's own origin and
// carry the session's CSRF token in X-CSRF-Token; Bearer requests need
// neither, since a browser never adds that header by itself. A session's
// expiry slides forward as it is used. The live feed authenticates its
// WebSocket upgrade (a GET) here too.
func (s *Server) authenticate(r *http.Request) (*session, error) {
	if auth := r.Header.Get("Authorization"); auth != "" {
		return s.bearer(r, auth)
	}
	if c, err := r.Cookie(sessionCookie); err == nil && c.Value != "" {
		return s.cookieSession(r, c.Value)
	}
	return nil, shouwang.Errorf(shouwang.EUNAUTHORIZED, "authentication required: log in (POST /api/v1/login), then send the session cookie or Authorization: Bearer <token>")
}

// bearer authenticates an API token.
func (s *Server) bearer(r *http.Request, auth string) (*session, error) {
	scheme, token, _ := strings.Cut(auth, " ")
	token = strings.TrimSpace(token)
	if !strings.EqualFold(scheme, "Bearer") || token == "" {
		return nil, shouwang.Errorf(shouwang.EUNAUTHORIZED, "authentication required: send Authorization: Bearer <token> (log in at POST /api/v1/login)")
	}
	h := tokenHash(token)
	u, err := s.tokenUser(r.Context(), h, accounts.TokenAPI, "invalid or expired token; log in again")
	if err != nil {
		return nil, err
	}
	return &session{user: u, kind: accounts.TokenAPI, tokenHash: h}, nil
}

// tokenUser returns the user of the live token with hash h and kind want;
// anything else is EUNAUTHORIZED with msg. A session token does not work as
// a Bearer token, nor an API token as a cookie.
func (s *Server) tokenUser(ctx context.Context, h string, want accounts.TokenKind, msg string) (*accounts.User, error) {
	u, kind, err := s.cfg.Accounts.UserByToken(ctx, h, s.cfg.Now())
	if shouwang.ErrorCode(err) == shouwang.ENOTFOUND || err == nil && (u.Disabled || kind != want) {
		return nil, shouwang.Errorf(shouwang.EUNAUTHORIZED, "%s", msg)
	} else if err != nil {
		return nil, fmt.Errorf("look up token: %w", err)
	}
	return u, nil
}

// require wraps h so that it runs only for an authenticated user holding one
// of roles (any role if roles is nil).
func (s *Server) require(roles []accounts.Role, h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sess, err := s.authenticate(r)
		if err != nil {
			if shouwang.ErrorCode(err) == shouwang.EUNAUTHORIZED && r.Header.Get("Authorization") == "" && hasSessionCookie(r) {
				clearSessionCookie(w, r) // a dead session is of no further use
			}
			s.writeError(w, r, err)
			return
		}
		if roles != nil && !slices.Contains(roles, sess.user.Role) {
			s.writeError(w, r, shouwang.Errorf(shouwang.EFORBIDDEN, "role %s may not do this", sess.user.Role))
			return
		}
		h(w, r.WithContext(context.WithValue(r.Context(), sessionKey{}, sess)))
	})
}

type loginRequest struct {
	Username string `json:"username"`
	Password string `json:"password"`
	// Session asks for a browser session (a cookie and a CSRF token)
	// instead of an API token.
	Session bool `json:"session"`
}

type loginResponse struct {
	Token     string         `json:"token"`
	ExpiresAt time.Time      `json:"expires_at"`
	User      *accounts.User `json:"user"`
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	if err := s.sameOrigin(r); err != nil {
		s.writeError(w, r, err)
		return
	}
	var req loginRequest
	if err := decodeJSON(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	if req.Username == "" || req.Password == "" {
		s.writeError(w, r, shouwang.Errorf(shouwang.EINVALID, "username and password are required"))
		return
	}
	if len(req.Username) > maxUsernameLen {
		s.writeError(w, r, shouwang.Errorf(shouwang.EINVALID, "username longer than %d bytes", maxUsernameLen))
		return
	}
	now := s.cfg.Now()
	if wait, ok := s.throttle.attempt(req.Username, now); !ok {
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
		s.writeError(w, r, shouwang.Errorf(eRateLimited, "too many failed logins for this user; try again in %s", wait.Round(time.Minute).String()))
		return
	}
	u, hash, err := s.cfg.Accounts.UserByName(r.Context(), req.Username)
	if shouwang.ErrorCode(err) == shouwang.ENOTFOUND {
		hash = dummyHash() // spend the same time as for a real user
	} else if err != nil {
		s.writeError(w, r, fmt.Errorf("look up user: %w", err))
		return
	}
	if !accounts.CheckPassword(hash, req.Password) || u == nil || u.Disabled {
		s.log.Info("login failed", "username", req.Username, "remote", r.RemoteAddr)
		s.writeError(w, r, shouwang.Errorf(shouwang.EUNAUTHORIZED, "wrong username or password"))
		return
	}
	s.throttle.succeeded(req.Username)

	if req.Session {
		s.startSession(w, r, u, hash, now)
		return
	}
	token, expires := newToken(), now.Add(tokenTTL)
	if err := s.issueToken(r.Context(), u, hash, accounts.TokenAPI, "login", tokenHash(token), expires); err != nil {
		s.writeError(w, r, fmt.Errorf("create token: %w", err))
		return
	}
	s.log.Info("login", "username", u.Username, "remote", r.RemoteAddr)
	writeJSON(w, http.StatusOK, loginResponse{Token: token, ExpiresAt: expires, User: u})
}

// issueToken stores a new token with hash h for u, who has just logged in
// with a password whose stored hash was pwHash. A password reset or a
// disable ends the tokens the account has when it commits, but a login that
// checked the old password just before could store its token just after.
// So the account is read again once the token is stored, and the token
// withdrawn (EUNAUTHORIZED) if the password hash or the disabled flag
// changed meanwhile: in either order, no token won with an old password
// outlives the reset.
func (s *Server) issueToken(ctx context.Context, u *accounts.User, pwHash string, kind accounts.TokenKind, name, h string, expires time.Time) error {
	if err := s.cfg.Accounts.CreateToken(ctx, u.ID, kind, name, h, expires); err != nil {
		return err
	}
	cur, curHash, err := s.cfg.Accounts.UserByName(ctx, u.Username)
	if err == nil && cur.ID == u.ID && !cur.Disabled && curHash == pwHash {
		return nil
	}
	if derr := s.cfg.Accounts.DeleteToken(ctx, h); derr != nil && shouwang.ErrorCode(derr) != shouwang.ENOTFOUND {
		// The token was never handed out, so it is of no use to anyone.
		s.log.Warn("withdraw token", "username", u.Username, "err", derr)
	}
	if err != nil && shouwang.ErrorCode(err) != shouwang.ENOTFOUND {
		return fmt.Errorf("look up user: %w", err)
	}
	s.log.Info("login failed: account changed during login", "username", u.Username)
	return shouwang.Errorf(shouwang.EUNAUTHORIZED, "wrong username or password")
}

// logout ends the session or revokes the API token the request came with.
func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	sess := sessionFrom(r.Context())
	if err := s.cfg.Accounts.DeleteToken(r.Context(), sess.tokenHash); err != nil && shouwang.ErrorCode(err) != shouwang.ENOTFOUND {
		s.writeError(w, r, fmt.Errorf("delete token: %w", err))
		return
	}
	if sess.kind == accounts.TokenSession {
		s.renewals.forget(sess.tokenHash)
		clearSessionCookie(w, r)
	}
	s.log.Info("logout", "username", sess.user.Username, "kind", sess.kind)
	w.WriteHeader(http.StatusNoContent)
}

var dummyHash = sync.OnceValue(func() string {
	h, err := accounts.HashPassword(newToken())
	if err != nil {
		panic("console: hash dummy password: " + err.Error())
	}
	return h
})
