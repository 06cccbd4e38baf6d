package accounts

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/shouwang-hub/shouwang"
	"github.com/shouwang-hub/shouwang/devices"
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

// Bounds on a profile.
const (
	maxPhoneLen = 32
	maxGrids    = 50
)

// Validate checks a profile: a phone of at most 32 characters, at most 50
// grids, each named in full and given once.
func (p Profile) Validate() error {
	if !utf8.ValidString(p.Phone) || utf8.RuneCountInString(p.Phone) > maxPhoneLen ||
		strings.IndexFunc(p.Phone, func(r rune) bool { return !unicode.IsPrint(r) }) >= 0 {
		return shouwang.Errorf(shouwang.EINVALID, "phone: at most %d printable characters", maxPhoneLen).With("field.too_long", "field", "phone", "max", "32")
	}
	if len(p.Grids) > maxGrids {
		return shouwang.Errorf(shouwang.EINVALID, "grids: at most %d", maxGrids)
	}
	seen := make(map[devices.GridRef]bool, len(p.Grids))
	for _, g := range p.Grids {
		if err := g.Validate(); err != nil {
			return err
		}
		if seen[g] {
			return shouwang.Errorf(shouwang.EINVALID, "grids: %s is given twice", g)
		}
		seen[g] = true
	}
	return nil
}
