package broker

import (
	"testing"
	"time"
)

func TestAuthCache(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	c := newAuthCache(func() time.Time { return now })
	good, bad := c.sum([]byte("right")), c.sum([]byte("wrong"))
	if c.hit("d1", good) {
		t.Fatal("hit on an empty cache")
	}
	c.put("d1", good)
	if !c.hit("d1", good) {
		t.Error("miss right after put")
	}
	if c.hit("d1", bad) {
		t.Error("a different password hit the cached success")
	}
	if c.hit("d2", good) {
		t.Error("another device hit d1's entry")
	}
	now = now.Add(authCacheTTL)
	if c.hit("d1", good) {
		t.Error("hit after the TTL")
	}
}
