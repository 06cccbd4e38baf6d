package broker

import (
	"testing"
	"time"
)

func TestAuthCache(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	c := newAuthCache(func() time.Time { return now })
	good, bad := c.sum([]byte("right")), c.sum([]byte("wrong"))
	if _, hit := c.hit("d1", good); hit {
		t.Fatal("hit on an empty cache")
	}
	c.put("d1", good, nativeDevice("d1"))
	if _, hit := c.hit("d1", good); !hit {
		t.Error("miss right after put")
	}
	if _, hit := c.hit("d1", bad); hit {
		t.Error("a different password hit the cached success")
	}
	if _, hit := c.hit("d2", good); hit {
		t.Error("another device hit d1's entry")
	}
	now = now.Add(authCacheTTL)
	if _, hit := c.hit("d1", good); hit {
		t.Error("hit after the TTL")
	}
}
