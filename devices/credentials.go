package devices

import (
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
)

// Device passwords are random, so their strength is in their entropy; the
// hash only keeps a stolen database from yielding them. They are stored in
// mosquitto's own "$7$" PBKDF2-SHA512 format, so an operator running an
// external mosquitto can export the registry as a mosquitto password file.
const (
	passwordIterations = 1000
	passwordSaltLen    = 12
	passwordHashLen    = 64
)

// NewPassword returns a fresh random device password: 24 URL-safe characters
// (144 bits).
func NewPassword() string {
	b := make([]byte, 18)
	rand.Read(b) // never fails; see crypto/rand
	return base64.RawURLEncoding.EncodeToString(b)
}

// HashPassword hashes a password in mosquitto's $7$ format.
func HashPassword(password string) string {
	salt := make([]byte, passwordSaltLen)
	rand.Read(salt)
	return encodeHash(passwordIterations, salt, pbkdf(password, salt, passwordIterations))
}

// CheckPassword reports whether password matches hash, in constant time.
func CheckPassword(hash, password string) bool {
	iter, salt, want, err := decodeHash(hash)
	if err != nil {
		return false
	}
	got := pbkdf(password, salt, iter)
	return subtle.ConstantTimeCompare(got, want) == 1
}

func pbkdf(password string, salt []byte, iter int) []byte {
	k, err := pbkdf2.Key(sha512.New, password, salt, iter, passwordHashLen)
	if err != nil {
		panic("pbkdf2: " + err.Error()) // only for parameters outside FIPS bounds, which ours are not
	}
	return k
}

func encodeHash(iter int, salt, key []byte) string {
	return fmt.Sprintf("$7$%d$%s$%s", iter, base64.StdEncoding.EncodeToString(salt), base64.StdEncoding.EncodeToString(key))
}

func decodeHash(h string) (iter int, salt, key []byte, err error) {
	parts := strings.Split(h, "$")
	if len(parts) != 5 || parts[0] != "" || parts[1] != "7" {
		return 0, nil, nil, fmt.Errorf("not a $7$ hash")
	}
	if iter, err = strconv.Atoi(parts[2]); err != nil || iter < 1 || iter > 10_000_000 {
		return 0, nil, nil, fmt.Errorf("bad iteration count")
	}
	if salt, err = base64.StdEncoding.DecodeString(parts[3]); err != nil {
		return 0, nil, nil, fmt.Errorf("bad salt: %w", err)
	}
	if key, err = base64.StdEncoding.DecodeString(parts[4]); err != nil || len(key) == 0 {
		return 0, nil, nil, fmt.Errorf("bad key")
	}
	return iter, salt, key, nil
}
