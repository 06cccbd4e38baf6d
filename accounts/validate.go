package accounts

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/shouwang-hub/shouwang"
)

// Bounds on new accounts.
const (
	maxNewUsernameLen = 64   // characters
	minPasswordLen    = 8    // characters
	maxPasswordLen    = 1024 // bytes
)

// ValidUsername checks a new account's username and returns an EINVALID
// error saying what is wrong: 1 to 64 characters, no spaces or control
// characters. Chinese names are fine.
func ValidUsername(name string) error {
	switch {
	case name == "":
		return shouwang.Errorf(shouwang.EINVALID, "username: required")
	case !utf8.ValidString(name):
		return shouwang.Errorf(shouwang.EINVALID, "username: not valid UTF-8")
	case utf8.RuneCountInString(name) > maxNewUsernameLen:
		return shouwang.Errorf(shouwang.EINVALID, "username: longer than %d characters", maxNewUsernameLen)
	case strings.IndexFunc(name, func(r rune) bool { return unicode.IsSpace(r) || !unicode.IsPrint(r) }) >= 0:
		return shouwang.Errorf(shouwang.EINVALID, "username %q: must not contain spaces or control characters", name)
	}
	return nil
}

// ValidPassword checks a new console password: at least 8 characters and
// at most 1024 bytes.
func ValidPassword(pw string) error {
	switch {
	case utf8.RuneCountInString(pw) < minPasswordLen:
		return shouwang.Errorf(shouwang.EINVALID, "password: at least %d characters", minPasswordLen)
	case len(pw) > maxPasswordLen:
		return shouwang.Errorf(shouwang.EINVALID, "password: longer than %d bytes", maxPasswordLen)
	}
	return nil
}
