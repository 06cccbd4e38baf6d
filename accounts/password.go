package accounts

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"

	"github.com/shouwang-hub/shouwang"
)

// argonParams are the cost parameters of an argon2id hash.
type argonParams struct {
	time    uint32 // passes
	memory  uint32 // KiB
	threads uint8
}

// defaultArgon is OWASP's recommendation for argon2id: 19 MiB, 2 passes,
// 1 thread; a login costs tens of milliseconds of one core.
var defaultArgon = argonParams{time: 2, memory: 19 * 1024, threads: 1}

// Bounds on what CheckPassword accepts, so a tampered hash cannot make a
// login take minutes or gigabytes.
const (
	maxArgonTime    = 16
	maxArgonMemory  = 1 << 20 // KiB: 1 GiB
	maxArgonThreads = 64
	argonSaltLen    = 16
	argonKeyLen     = 32
)

// HashPassword hashes a console password with argon2id and returns it in the
// PHC string format: $argon2id$v=19$m=19456,t=2,p=1$<salt>$<key>.
func HashPassword(pw string) (string, error) {
	return hashPassword(pw, defaultArgon)
}

func hashPassword(pw string, p argonParams) (string, error) {
	if pw == "" {
		return "", shouwang.Errorf(shouwang.EINVALID, "password: empty")
	}
	if len(pw) > maxPasswordLen {
		return "", shouwang.Errorf(shouwang.EINVALID, "password: longer than %d bytes", maxPasswordLen)
	}
	salt := make([]byte, argonSaltLen)
	rand.Read(salt) // never fails; see crypto/rand
	key := argon2.IDKey([]byte(pw), salt, p.time, p.memory, p.threads, argonKeyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.memory, p.time, p.threads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key)), nil
}

// CheckPassword reports whether pw matches a hash from HashPassword, in
// constant time. Malformed hashes match nothing.
func CheckPassword(hash, pw string) bool {
	p, salt, want, err := parseArgonHash(hash)
	if err != nil || len(pw) > maxPasswordLen {
		return false
	}
	got := argon2.IDKey([]byte(pw), salt, p.time, p.memory, p.threads, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}

func parseArgonHash(hash string) (p argonParams, salt, key []byte, err error) {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return p, nil, nil, fmt.Errorf("not an argon2id hash")
	}
	if parts[2] != fmt.Sprintf("v=%d", argon2.Version) {
		return p, nil, nil, fmt.Errorf("unsupported argon2 version %q", parts[2])
	}
	var threads uint32
	if n, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.memory, &p.time, &threads); err != nil || n != 3 ||
		fmt.Sprintf("m=%d,t=%d,p=%d", p.memory, p.time, threads) != parts[3] {
		return p, nil, nil, fmt.Errorf("bad parameters %q", parts[3])
	}
	if p.time < 1 || p.time > maxArgonTime || p.memory < 8 || p.memory > maxArgonMemory || threads < 1 || threads > maxArgonThreads {
		return p, nil, nil, fmt.Errorf("parameters out of bounds: %q", parts[3])
	}
	p.threads = uint8(threads)
	if salt, err = base64.RawStdEncoding.DecodeString(parts[4]); err != nil || len(salt) < 8 {
		return p, nil, nil, fmt.Errorf("bad salt")
	}
	if key, err = base64.RawStdEncoding.DecodeString(parts[5]); err != nil || len(key) < 16 || len(key) > 128 {
		return p, nil, nil, fmt.Errorf("bad key")
	}
	return p, salt, key, nil
}
