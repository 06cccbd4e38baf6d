package testenv

import (
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestEventuallyReturnsOnceCondHolds(t *testing.T) {
	var calls atomic.Int32
	Eventually(t, 10*time.Second, "the third call", func() bool { return calls.Add(1) == 3 })
	if n := calls.Load(); n != 3 {
		t.Errorf("cond called %d times, want 3", n)
	}
}

// fakeT records a Fatalf instead of ending the test.
type fakeT struct {
	testing.TB
	msg string
}

func (f *fakeT) Helper() {}
func (f *fakeT) Fatalf(format string, args ...any) {
	f.msg = fmt.Sprintf(format, args...)
	panic(f) // as t.Fatalf ends the goroutine
}

func TestEventuallyStateQuotesTheLastState(t *testing.T) {
	f := &fakeT{TB: t}
	func() {
		defer func() {
			if r := recover(); r != f {
				panic(r)
			}
		}()
		EventuallyState(f, 5*time.Millisecond, "never", func() (bool, string) { return false, "3 of 4" })
	}()
	if !strings.Contains(f.msg, "waiting for never; last state: 3 of 4") {
		t.Errorf("failure %q does not quote the last state", f.msg)
	}
}
