package shouwang

import (
	"errors"
	"fmt"
)

// Error codes shared by the domain packages. The console maps each code to an
// HTTP status in exactly one place.
const (
	ECONFLICT     = "conflict"
	EINTERNAL     = "internal"
	EINVALID      = "invalid"
	ENOTFOUND     = "not_found"
	EUNAUTHORIZED = "unauthorized"
	EFORBIDDEN    = "forbidden"
)

// Error is a domain error with a machine-readable code and a message meant
// for the person who caused it (an installer, an operator, a script).
//
// Key, when set, names the message so that a page can say it in its
// reader's language ("alert.already_accepted"), with Params filling it in
// ({"id": "7", "by": "wang"}); Message stays the English form for scripts,
// logs and hubctl. See With.
type Error struct {
	Code    string
	Message string
	Key     string
	Params  map[string]string
}

func (e *Error) Error() string { return fmt.Sprintf("%s: %s", e.Code, e.Message) }

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// With names e's message by key, with params given as name, value pairs,
// and returns e. A page renders the key in its reader's language; a value
// is data (a name, a number, a state code), never English prose.
func (e *Error) With(key string, params ...string) *Error {
	e.Key = key
	if len(params) > 1 {
		e.Params = make(map[string]string, len(params)/2)
		for i := 0; i+1 < len(params); i += 2 {
			e.Params[params[i]] = params[i+1]
		}
	}
	return e
}

// ErrorKey returns the key and params of the first *Error in err's chain
// ("" and nil when it has none).
func ErrorKey(err error) (string, map[string]string) {
	var e *Error
	if errors.As(err, &e) {
		return e.Key, e.Params
	}
	return "", nil
}

// ErrorCode returns the code of the first *Error in err's chain, EINTERNAL
// for any other non-nil error and "" for nil.
func ErrorCode(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the message of the first *Error in err's chain, or a
// generic message for errors that must not leak internals.
func ErrorMessage(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}
