package accounts

import (
	"strings"
	"testing"

	"github.com/shouwang-hub/shouwang"
)

func TestPasswordHash(t *testing.T) {
	h, err := HashPassword("correct horse")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Errorf("hash %q is not in PHC format with the default parameters", h)
	}
	if !CheckPassword(h, "correct horse") || CheckPassword(h, "correct horsf") || CheckPassword(h, "") {
		t.Error("CheckPassword accepts the wrong password or rejects the right one")
	}
	if h2, _ := HashPassword("correct horse"); h2 == h {
		t.Error("two hashes of one password are equal: no salt")
	}
	cheap, err := hashPassword("pw", argonParams{time: 1, memory: 64, threads: 1})
	if err != nil || !CheckPassword(cheap, "pw") {
		t.Fatalf("parameters are not read from the hash: %v", err)
	}
	parts := strings.Split(cheap, "$")
	for name, bad := range map[string]string{
		"empty":         "",
		"other scheme":  "$7$1000$c2FsdA==$a2V5",
		"version":       strings.Replace(cheap, "v=19", "v=16", 1),
		"huge memory":   strings.Replace(cheap, "m=64", "m=99999999", 1),
		"huge time":     strings.Replace(cheap, "t=1", "t=1000", 1),
		"no threads":    strings.Replace(cheap, "p=1", "p=0", 1),
		"trailing junk": strings.Replace(cheap, "p=1", "p=1x", 1),
		"bad salt":      strings.Join([]string{"", parts[1], parts[2], parts[3], "!!", parts[5]}, "$"),
		"short key":     strings.Join([]string{"", parts[1], parts[2], parts[3], parts[4], "AAAA"}, "$"),
		"extra part":    cheap + "$x",
	} {
		if CheckPassword(bad, "pw") {
			t.Errorf("%s: CheckPassword(%q) accepted", name, bad)
		}
	}
	if _, err := HashPassword(""); shouwang.ErrorCode(err) != shouwang.EINVALID {
		t.Errorf("empty password: %v", err)
	}
	if _, err := HashPassword(strings.Repeat("x", maxPasswordLen+1)); shouwang.ErrorCode(err) != shouwang.EINVALID {
		t.Errorf("huge password: %v", err)
	}
}
