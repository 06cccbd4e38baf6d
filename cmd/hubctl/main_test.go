package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shouwang-hub/shouwang/accounts"
	"github.com/shouwang-hub/shouwang/console/consoletest"
	"github.com/shouwang-hub/shouwang/devices"
)

// result is what one run of hubctl did.
type result struct {
	code           int
	stdout, stderr string
}

// hubctl runs the command line against e, with a private config directory.
func hubctl(t *testing.T, e *consoletest.Env, stdin string, args ...string) result {
	t.Helper()
	var out, errOut bytes.Buffer
	if e != nil {
		args = append([]string{"-server", e.URL}, args...)
	}
	code := run(args, strings.NewReader(stdin), &out, &errOut)
	return result{code, out.String(), errOut.String()}
}

func (r result) want(t *testing.T, code int, stdout, stderr string) {
	t.Helper()
	if r.code != code || !strings.Contains(r.stdout, stdout) || !strings.Contains(r.stderr, stderr) {
		t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s\nwant stdout containing %q and stderr containing %q", r.code, code, r.stdout, r.stderr, stdout, stderr)
	}
}

// isolate keeps hubctl away from the real environment and config.
func isolate(t *testing.T) string {
	dir := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", dir)
	t.Setenv("HOME", dir)
	t.Setenv("HUBCTL_TOKEN", "")
	t.Setenv("HUBCTL_SERVER", "")
	return dir
}

func TestLoginCreateListGet(t *testing.T) {
	dir := isolate(t)
	e := consoletest.Start(t)

	hubctl(t, e, "wrong\n", "login", "-user", "installer", "-password-stdin").want(t, 1, "", "wrong username or password")
	hubctl(t, e, "", "devices", "list").want(t, 1, "", "not logged in")
	hubctl(t, e, "pw-installer\n", "login", "-user", "installer", "-password-stdin").want(t, 0, "as installer (installer)", "")
	fi, err := os.Stat(filepath.Join(dir, "shouwang", "token"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("token file: %v, mode %v", err, fi.Mode())
	}

	r := hubctl(t, e, "", "devices", "create", "-id", "b-1", "-kind", "sos_button", "-community", "青山社区",
		"-building", "5栋", "-resident", "王秀英", "-birth-year", "1941", "-lives-alone",
		"-contact", "王芳|女儿|13800000001", "-capabilities", "voice")
	r.want(t, 0, "MQTT password: ", "")
	if !strings.Contains(r.stdout, "shown only this once") {
		t.Errorf("no warning that the password is shown once:\n%s", r.stdout)
	}
	pw := strings.TrimSpace(strings.SplitN(strings.SplitN(r.stdout, "MQTT password: ", 2)[1], "\n", 2)[0])
	hash, _ := e.Registry.PasswordHash(context.Background(), "b-1")
	if !devices.CheckPassword(hash, pw) {
		t.Fatalf("printed password %q does not match the stored hash", pw)
	}
	d, _ := e.Registry.FindDevice(context.Background(), "b-1")
	if d.Resident.Name != "王秀英" || !d.Resident.LivesAlone || len(d.Contacts) != 1 || d.Contacts[0].Relation != "女儿" || !d.HasCapability("voice") {
		t.Errorf("stored device = %+v", d)
	}

	hubctl(t, e, "", "devices", "create", "-id", "b-1", "-kind", "gas", "-community", "c").want(t, 1, "", `already registered`)
	hubctl(t, e, "", "devices", "create", "-id", "g-1", "-kind", "gas", "-community", "c").want(t, 0, "Created device g-1", "")

	hubctl(t, e, "", "devices", "list").want(t, 0, "b-1", "")
	r = hubctl(t, e, "", "devices", "list", "-kind", "gas")
	r.want(t, 0, "g-1", "")
	if strings.Contains(r.stdout, "b-1") {
		t.Errorf("-kind gas listed b-1:\n%s", r.stdout)
	}
	r = hubctl(t, e, "", "devices", "list", "-json", "-community", "青山社区")
	var lr struct {
		Devices []devices.Device
		Total   int
	}
	if err := json.Unmarshal([]byte(r.stdout), &lr); err != nil || lr.Total != 1 || lr.Devices[0].ID != "b-1" {
		t.Fatalf("list -json: %v\n%s", err, r.stdout)
	}
	hubctl(t, e, "", "devices", "get", "b-1").want(t, 0, "王芳 (女儿) 13800000001", "")
	hubctl(t, e, "", "devices", "get", "nope").want(t, 1, "", `device "nope" is not registered`)
}

func TestImport(t *testing.T) {
	dir := isolate(t)
	e := consoletest.Start(t)
	inst := e.Tokens[accounts.RoleInstaller]
	bad := filepath.Join(dir, "bad.csv")
	os.WriteFile(bad, []byte("id,kind,community\nok-1,gas,c\nx-1,toaster,c\nok-1,gas,c\n"), 0o644)

	r := hubctl(t, e, "", "-token", inst, "devices", "import", bad, "-out", filepath.Join(dir, "creds.csv"))
	r.want(t, 1, "", bad+`:3: x-1: kind "toaster"`)
	r.want(t, 1, "", bad+":4: ok-1: duplicate id; first used on line 2")
	r.want(t, 1, "", "2 rows have errors; nothing was imported")
	if e.Registry.Len() != 0 {
		t.Fatalf("bad file imported %d devices", e.Registry.Len())
	}
	if _, err := os.Stat(filepath.Join(dir, "creds.csv")); !os.IsNotExist(err) {
		t.Errorf("credentials file left behind after a failed import: %v", err)
	}

	good := filepath.Join(dir, "good.csv")
	os.WriteFile(good, []byte("\uFEFFid,kind,community\r\ng-1,gas,c\r\ns-1,smoke,c\r\n"), 0o644)
	creds := filepath.Join(dir, "creds.csv")
	hubctl(t, e, "", "-token", inst, "devices", "import", good, "-out", creds).want(t, 0, "", "Imported 2 devices")
	f, err := os.Open(creds)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if fi, _ := f.Stat(); fi.Mode().Perm() != 0o600 {
		t.Errorf("credentials file mode %v, want 0600", fi.Mode().Perm())
	}
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil || len(recs) != 3 || recs[0][0] != "id" || recs[0][1] != "password" {
		t.Fatalf("credentials file: %v %v", err, recs)
	}
	for _, rec := range recs[1:] {
		hash, _ := e.Registry.PasswordHash(context.Background(), rec[0])
		if !devices.CheckPassword(hash, rec[1]) {
			t.Errorf("credential %v does not match the stored hash", rec)
		}
	}

	// An existing -out is refused before anything is imported.
	os.WriteFile(good, []byte("id,kind,community\na-1,air,c\n"), 0o644)
	hubctl(t, e, "", "-token", inst, "devices", "import", good, "-out", creds).want(t, 1, "", "exists")
	if e.Registry.Len() != 2 {
		t.Fatalf("registry holds %d devices, want 2", e.Registry.Len())
	}
	// Without -out the credentials go to stdout.
	hubctl(t, e, "", "-token", inst, "devices", "import", good).want(t, 0, "id,password\na-1,", "Imported 1 device.")
}

func TestOtherCommands(t *testing.T) {
	isolate(t)
	e := consoletest.Start(t)
	inst, op := e.Tokens[accounts.RoleInstaller], e.Tokens[accounts.RoleOperator]
	hubctl(t, e, "", "-token", inst, "devices", "create", "-id", "g-1", "-kind", "gas", "-community", "c").want(t, 0, "", "")

	old, _ := e.Registry.PasswordHash(context.Background(), "g-1")
	r := hubctl(t, e, "", "-token", inst, "devices", "rotate-password", "g-1")
	r.want(t, 0, "MQTT password: ", "")
	if now, _ := e.Registry.PasswordHash(context.Background(), "g-1"); now == old {
		t.Error("rotate-password did not change the hash")
	}

	hubctl(t, e, "", "-token", op, "devices", "create", "-id", "g-2", "-kind", "gas", "-community", "c").want(t, 1, "", "role operator may not do this")
	hubctl(t, e, "", "-token", "bogus", "devices", "list").want(t, 1, "", "hubctl login")

	hubctl(t, e, "", "-token", inst, "devices", "unregistered").want(t, 0, "No unregistered devices", "")
	e.Registry.RecordUnregistered(context.Background(), "stranger-7", "connect", time.Now())
	hubctl(t, e, "", "-token", inst, "devices", "unregistered").want(t, 0, "stranger-7", "")

	r = hubctl(t, e, "", "-token", op, "telemetry", "g-1", "-field", "lel", "-since", "3h")
	r.want(t, 0, "LEL (%LEL)", "")
	if n := strings.Count(r.stdout, "\n"); n < 3 || n > 4 {
		t.Errorf("3h of hourly readings gave %d lines:\n%s", n, r.stdout)
	}
	hubctl(t, e, "", "-token", op, "telemetry", "g-1", "-field", "pm25").want(t, 1, "", "a gas device reports lel")
	hubctl(t, e, "", "-token", op, "telemetry", "g-1", "-field", "lel", "-since", "soon").want(t, 2, "", "-since")

	hubctl(t, e, "", "-token", inst, "devices", "delete", "g-1").want(t, 0, "Deleted device g-1", "")
	hubctl(t, e, "", "-token", inst, "devices", "delete", "g-1").want(t, 1, "", "is not registered")
}

func TestUsage(t *testing.T) {
	isolate(t)
	tests := []struct {
		args   []string
		code   int
		stderr string
	}{
		{nil, 2, "Usage: hubctl"},
		{[]string{"frobnicate"}, 2, `unknown command "frobnicate"`},
		{[]string{"devices"}, 2, "missing subcommand"},
		{[]string{"devices", "explode"}, 2, `unknown subcommand "explode"`},
		{[]string{"devices", "get"}, 2, "missing ID"},
		{[]string{"devices", "get", "a", "b"}, 2, `unexpected argument "b"`},
		{[]string{"devices", "create", "-id", "x"}, 2, "-kind, -community required"},
		{[]string{"devices", "create", "-contact", "just-a-name"}, 2, "name|relation|phone"},
		{[]string{"devices", "list", "-colour", "red"}, 2, "flag provided but not defined"},
		{[]string{"login"}, 2, "-user is required"},
		{[]string{"login", "-user", "admin"}, 2, "-password-stdin"},
		{[]string{"-h"}, 0, "Usage: hubctl"},
		{[]string{"devices", "import", "-h"}, 0, "-out"},
		{[]string{"-server", "http://127.0.0.1:1", "-token", "t", "devices", "list"}, 1, "cannot reach the hub"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			hubctl(t, nil, "", tt.args...).want(t, tt.code, "", tt.stderr)
		})
	}
}

func TestLogout(t *testing.T) {
	dir := isolate(t)
	e := consoletest.Start(t)
	hubctl(t, e, "pw-admin\n", "login", "-user", "admin", "-password-stdin").want(t, 0, "Logged in", "")
	tokens := e.Accounts.Tokens()
	hubctl(t, e, "", "logout").want(t, 0, "Logged out", "")
	if e.Accounts.Tokens() != tokens-1 {
		t.Errorf("logout left the token on the server")
	}
	if _, err := os.Stat(filepath.Join(dir, "shouwang", "token")); !os.IsNotExist(err) {
		t.Errorf("token file still there: %v", err)
	}
	hubctl(t, e, "", "devices", "list").want(t, 1, "", "not logged in")
}

func TestEnvironment(t *testing.T) {
	isolate(t)
	e := consoletest.Start(t)
	t.Setenv("HUBCTL_SERVER", e.URL)
	t.Setenv("HUBCTL_TOKEN", e.Tokens[accounts.RoleOperator])
	hubctl(t, nil, "", "devices", "list").want(t, 0, "0 devices", "")
	// -token wins over the environment.
	hubctl(t, nil, "", "-token", "bogus", "devices", "list").want(t, 1, "", "invalid or expired token")
	// -h shows the defaults but never the token itself.
	r := hubctl(t, nil, "", "devices", "list", "-h")
	if strings.Contains(r.stdout+r.stderr, e.Tokens[accounts.RoleOperator]) {
		t.Error("-h printed the token")
	}
}
