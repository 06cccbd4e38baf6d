package console

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"

	"github.com/shouwang-hub/shouwang"
)

// csrfHeader carries a browser session's CSRF token on every request that
// changes state. A cross-site form or image cannot set a header, and a
// cross-site script cannot read the token: it is given out only in answers
// to the session's own login and GET /api/v1/me.
const csrfHeader = "X-CSRF-Token"

// csrfLabel separates the CSRF token from any other value derived from a
// session token.
const csrfLabel = "shouwang console csrf v1"

// csrfToken derives a session's CSRF token: HMAC-SHA256 keyed with the
// session token. It needs no server-side state or secret, so it survives a
// hub restart and works across hub processes, and it cannot be forged
// without the cookie, which scripts cannot read (HttpOnly). The store keeps
// only the session token's hash, so it cannot yield CSRF tokens either.
func csrfToken(sessionToken string) string {
	mac := hmac.New(sha256.New, []byte(sessionToken))
	mac.Write([]byte(csrfLabel))
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// validCSRF reports, in constant time, whether got is the CSRF token of the
// session with token sessionToken.
func validCSRF(sessionToken, got string) bool {
	return got != "" && hmac.Equal([]byte(got), []byte(csrfToken(sessionToken)))
}

// unsafeMethod reports whether a request with this method may change state.
func unsafeMethod(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
		return false
	}
	return true
}

// sameOrigin refuses a state-changing request that a browser says came from
// another site (Sec-Fetch-Site, or else an Origin that does not match the
// Host), as a second line behind the CSRF token and the first in front of
// login, which has no session yet. Requests from scripts carry neither
// header and pass.
func (s *Server) sameOrigin(r *http.Request) error {
	if err := s.origins.Check(r); err != nil {
		return shouwang.Errorf(shouwang.EFORBIDDEN, "cross-origin request refused")
	}
	return nil
}

// originCheck returns the cross-origin check of state-changing browser
// requests, trusting Config.AllowedOrigins as the live feed does.
func originCheck(allowed []string) (*http.CrossOriginProtection, error) {
	c := http.NewCrossOriginProtection()
	for i, o := range allowed {
		if err := c.AddTrustedOrigin(strings.TrimSuffix(o, "/")); err != nil {
			return nil, fmt.Errorf("console: config.AllowedOrigins[%d] %q is not an origin like https://host[:port]", i, o)
		}
	}
	return c, nil
}
