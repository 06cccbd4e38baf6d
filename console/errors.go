package console

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/shouwang-hub/shouwang"
	"github.com/shouwang-hub/shouwang/devices"
)

// Error codes the console adds to the domain's (devices.E*).
const (
	eTooLarge         = "too_large"
	eRateLimited      = "rate_limited"
	eUnsupportedMedia = "unsupported_media_type"
	eMethodNotAllowed = "method_not_allowed"
)

// statusOf maps an error code to its HTTP status. It is the only place that
// does.
func statusOf(code string) int {
	switch code {
	case shouwang.EINVALID:
		return http.StatusBadRequest
	case shouwang.EUNAUTHORIZED:
		return http.StatusUnauthorized
	case shouwang.EFORBIDDEN:
		return http.StatusForbidden
	case shouwang.ENOTFOUND:
		return http.StatusNotFound
	case eMethodNotAllowed:
		return http.StatusMethodNotAllowed
	case shouwang.ECONFLICT:
		return http.StatusConflict
	case eTooLarge:
		return http.StatusRequestEntityTooLarge
	case eUnsupportedMedia:
		return http.StatusUnsupportedMediaType
	case eRateLimited:
		return http.StatusTooManyRequests
	default:
		return http.StatusInternalServerError
	}
}

// errorBody is what every failed request gets.
//
// Key and Params, when the error has them, name the message so that the page
// says it in its reader's language (console/web/js/format.js: errorText);
// Error is the same message in English, for scripts and hubctl.
type errorBody struct {
	Error  string             `json:"error"`
	Code   string             `json:"code"`
	Key    string             `json:"key,omitempty"`
	Params map[string]string  `json:"params,omitempty"`
	Rows   []devices.RowError `json:"rows,omitempty"`
}

// rowsError is an EINVALID error about rows of an import file.
type rowsError struct {
	err  *shouwang.Error
	rows []devices.RowError
}

func (e *rowsError) Error() string { return e.err.Error() }
func (e *rowsError) Unwrap() error { return e.err }

// maxRowsShown caps the row errors one response lists; the message still
// counts them all.
const maxRowsShown = 1000

// writeError answers with err's code and message. Internal errors are logged
// and answered with a generic message, so they never leak.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	code := shouwang.ErrorCode(err)
	body := errorBody{Error: shouwang.ErrorMessage(err), Code: code}
	if code != shouwang.EINTERNAL {
		body.Key, body.Params = shouwang.ErrorKey(err)
	}
	if code == shouwang.EINTERNAL {
		s.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	var re *rowsError
	if errors.As(err, &re) {
		body.Rows = re.rows[:min(len(re.rows), maxRowsShown)]
	}
	writeJSON(w, statusOf(code), body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v) // the client has gone; nothing to tell it
}

// maxJSONBody caps JSON request bodies.
const maxJSONBody = 1 << 20

// decodeJSON reads exactly one JSON value from the body into v, refusing
// unknown fields and bodies over maxJSONBody.
func decodeJSON(w http.ResponseWriter, r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxJSONBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return bodyError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		if err != nil {
			return bodyError(err)
		}
		return shouwang.Errorf(shouwang.EINVALID, "invalid JSON body: more than one value")
	}
	return nil
}

// bodyError turns an error from reading or decoding a request body into one
// the caller can act on.
func bodyError(err error) error {
	var (
		tooLarge *http.MaxBytesError
		syntax   *json.SyntaxError
		typ      *json.UnmarshalTypeError
	)
	switch {
	case errors.As(err, &tooLarge):
		return shouwang.Errorf(eTooLarge, "request body larger than %d bytes", tooLarge.Limit)
	case errors.Is(err, io.EOF):
		return shouwang.Errorf(shouwang.EINVALID, "invalid JSON body: empty")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return shouwang.Errorf(shouwang.EINVALID, "invalid JSON body: unexpected end")
	case errors.As(err, &syntax):
		return shouwang.Errorf(shouwang.EINVALID, "invalid JSON body at byte %d: %v", syntax.Offset, syntax)
	case errors.As(err, &typ):
		return shouwang.Errorf(shouwang.EINVALID, "invalid JSON body: field %q must be %s, not %s", typ.Field, typ.Type, typ.Value)
	}
	// encoding/json reports unknown fields (and a few others) only as text.
	if msg, ok := strings.CutPrefix(err.Error(), "json: "); ok {
		return shouwang.Errorf(shouwang.EINVALID, "invalid JSON body: %s", msg)
	}
	return fmt.Errorf("read body: %w", err)
}
