package testenv_test

import (
	"fmt"
	"net"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/shouwang-hub/shouwang/internal/testenv"
)

func TestFreePort(t *testing.T) {
	port := testenv.FreePort(t)
	l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		t.Fatalf("port %d from FreePort is not free: %v", port, err)
	}
	l.Close()
}

func TestToolPathFindsTools(t *testing.T) {
	p := testenv.ToolPath(t, "influxd")
	if !strings.HasSuffix(p, filepath.Join(".tools", "bin", "influxd")) {
		t.Logf("influxd found at %s, not in .tools/bin (run scripts/setup to build it there)", p)
	}
	if p := testenv.ToolPath(t, "mosquitto"); filepath.Base(p) != "mosquitto" {
		t.Fatalf("ToolPath(mosquitto) = %q", p)
	}
}

// recorder is a testing.TB that records Fatal and Skip instead of acting on
// the real test; both end the calling goroutine, as the real ones do.
type recorder struct {
	testing.TB
	fatal, skip string
}

func (r *recorder) Fatal(args ...any) { r.fatal = fmt.Sprint(args...); runtime.Goexit() }
func (r *recorder) Skip(args ...any)  { r.skip = fmt.Sprint(args...); runtime.Goexit() }

func missingTool(t *testing.T) *recorder {
	r := &recorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		testenv.ToolPath(r, "no-such-tool-xyz")
		t.Error("ToolPath returned for a missing tool")
	}()
	<-done
	return r
}

func TestToolPathMissing(t *testing.T) {
	t.Run("CI fails", func(t *testing.T) {
		t.Setenv("CI", "true")
		r := missingTool(t)
		if r.skip != "" || !strings.Contains(r.fatal, "no-such-tool-xyz not found") || !strings.Contains(r.fatal, "run scripts/setup") {
			t.Fatalf("fatal = %q, skip = %q; want a fatal naming the tool and scripts/setup", r.fatal, r.skip)
		}
	})
	t.Run("outside CI skips", func(t *testing.T) {
		t.Setenv("CI", "")
		r := missingTool(t)
		if r.fatal != "" || !strings.Contains(r.skip, "run scripts/setup") {
			t.Fatalf("fatal = %q, skip = %q; want a skip naming scripts/setup", r.fatal, r.skip)
		}
	})
}
