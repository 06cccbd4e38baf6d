package voice

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/shouwang-hub/shouwang"
)

// An answer whose console cannot reach the hub (its network cut before the
// connection came up) is released by the hub: the call rings again, the
// device is not hung up, and another operator answers it and hears the
// device.
func TestUnconnectedAnswerIsReleased(t *testing.T) {
	// A short PeerTimeout, so that the hub sees alice's connection fail.
	f := newFixture(t, func(c *Config) { c.PeerTimeout, c.ConnectTimeout = testPeerTimeout, 3*testPeerTimeout })
	dev := f.call(t, "dev-1", "c1")

	blocked := newTestPeer(t, "console alice", true)
	blocked.vanish()
	ans, err := f.m.Answer(context.Background(), "c1", "alice", blocked.offer())
	if err != nil {
		t.Fatal(err)
	}
	blocked.accept(ans)
	f.events.wait(t, "c1", CallAnswered)
	rel := f.events.wait(t, "c1", CallReleased)
	if rel.By != "alice" || !ValidReleaseReason(rel.Reason) || rel.Call.State != CallRinging || rel.Call.AnsweredBy != "" ||
		!rel.Call.AnsweredAt.IsZero() || rel.Call.Recordings["console"] != "" {
		t.Fatalf("released event %+v", rel)
	}
	t.Logf("released: %s", rel.Reason)
	if ci, ok := f.m.Call("c1"); !ok || ci.State != CallRinging {
		t.Fatalf("after the release the call is %+v", ci)
	}
	if h := f.sig.find("c1", "hangup"); len(h) != 0 {
		t.Fatalf("the device was hung up: %+v", h)
	}
	if st := f.m.Stats(); st.Released != 1 {
		t.Errorf("Stats().Released = %d", st.Released)
	}

	con := f.answer(t, "c1", "bob")
	con.waitConnected()
	dev.waitConnected()
	f.waitHubConnected(t, "c1")
	dev.send(schedule(clipFrames(t)[:30], 10))
	waitFor(t, "bob to hear the device", func() bool { return len(con.received()) >= 30 })
	if types := eventTypes(f.events.of("c1")); !slices.Equal(types, []CallState{CallRinging, CallAnswered, CallReleased, CallAnswered}) {
		t.Errorf("events %v", types)
	}
	if ci, _ := f.m.Call("c1"); ci.AnsweredBy != "bob" || ci.Recordings["console"] == "" {
		t.Errorf("the call after bob's answer: %+v", ci)
	}
}

// The operator's browser releases its own answer when its connection
// fails: only the one who answered may, only before the audio connected,
// and a second release changes nothing.
func TestReleaseByTheOperator(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.ConnectTimeout = time.Minute })
	f.call(t, "dev-1", "c1")
	con := newTestPeer(t, "console alice", true)
	if _, err := f.m.Answer(context.Background(), "c1", "alice", con.offer()); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, tc := range []struct {
		by, reason string
		code       string
	}{
		{"alice", "whatever", shouwang.EINVALID},
		{"bob", ReleaseMediaFailed, shouwang.ECONFLICT},
	} {
		if err := f.m.Release(ctx, "c1", tc.by, tc.reason); shouwang.ErrorCode(err) != tc.code {
			t.Errorf("Release by %s (%s): %v, want %s", tc.by, tc.reason, err, tc.code)
		}
	}
	if err := f.m.Release(ctx, "nope", "alice", ReleaseMediaFailed); shouwang.ErrorCode(err) != shouwang.ENOTFOUND {
		t.Errorf("Release of an unknown call: %v", err)
	}
	if err := f.m.Release(ctx, "c1", "alice", ReleaseMediaTimeout); err != nil {
		t.Fatal(err)
	}
	if rel := f.events.wait(t, "c1", CallReleased); rel.By != "alice" || rel.Reason != ReleaseMediaTimeout {
		t.Errorf("released event %+v", rel)
	}
	if err := f.m.Release(ctx, "c1", "alice", ReleaseMediaTimeout); err != nil {
		t.Errorf("a second release: %v", err)
	}
	if n := len(f.events.of("c1")); n != 3 {
		t.Errorf("%d events, want ringing, answered, released", n)
	}

	// Connected, the call is hung up, not released.
	bob := f.answer(t, "c1", "bob")
	bob.waitConnected()
	f.waitHubConnected(t, "c1")
	if err := f.m.Release(ctx, "c1", "bob", ReleaseMediaFailed); shouwang.ErrorCode(err) != shouwang.ECONFLICT {
		t.Errorf("Release of a connected call: %v, want ECONFLICT", err)
	}
}
