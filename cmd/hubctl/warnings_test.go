package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/shouwang-hub/shouwang/accounts"
	"github.com/shouwang-hub/shouwang/console/consoletest"
)

// hubctl registers a device left without its unit, and an import with such
// rows, and says where each went and how many rows to check.
func TestCreateAndImportWarn(t *testing.T) {
	dir := isolate(t)
	e := consoletest.Start(t)
	inst := e.Tokens[accounts.RoleInstaller]
	at := []string{"-community", "青山", "-building", "5栋"}
	run := func(args ...string) result {
		return hubctl(t, e, "", append(append([]string{"-token", inst, "devices", "create"}, at...), args...)...)
	}
	r := run("-id", "a-1", "-kind", "smoke", "-unit", "1单元", "-floor", "1层", "-household", "101")
	r.want(t, 0, "Created device a-1", "")
	if r.stderr != "" {
		t.Errorf("a complete registration warned: %s", r.stderr)
	}
	run("-id", "b-1", "-kind", "smoke", "-unit", "2单元", "-floor", "1层", "-household", "101").want(t, 0, "Created device b-1", "")
	run("-id", "a-2", "-kind", "gas", "-floor", "2层", "-household", "1-201").
		want(t, 0, "Created device a-2", "device a-2: warning: registered without its unit, though 5栋's devices name units; no unit has a household 1-201")

	file := filepath.Join(dir, "w.csv")
	os.WriteFile(file, []byte("id,kind,community,building,unit,floor,household\n"+
		"c-1,co,青山,5栋,,1层,101\n"+
		"c-2,co,青山,5栋,1单元,3层,101\n"+
		"c-3,co,青山,5栋,1单元,1层,101\n"), 0o644)
	r = hubctl(t, e, "", "-token", inst, "devices", "import", file, "-out", filepath.Join(dir, "creds.csv"))
	r.want(t, 0, "", file+":2: c-1: warning: registered without its unit; not placed: 1单元, 2单元 of 5栋 each have a household 101")
	r.want(t, 0, "", file+":3: c-2: warning: floor 3层 differs from floor 1层 of device a-1 in the same household 101")
	// c-3 agrees with a-1 but not with c-2: each pair that differs is said once.
	r.want(t, 0, "", file+":4: c-3: warning: floor 1层 differs from floor 3层 of device c-2")
	r.want(t, 0, "", "Imported 3 devices (3 with warnings above: check their place).")
	if e.Registry.Len() != 6 {
		t.Errorf("registry holds %d devices, want 6", e.Registry.Len())
	}
}
