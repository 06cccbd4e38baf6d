package shouwang_test

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/shouwang-hub/shouwang"

// domain are the packages at the centre: they import the standard library,
// each other and the few libraries named in allowedOutside, nothing else.
// The vendor codecs are domain too: they map vendors' payloads by the
// vendors' definitions, with the standard library and the devices domain.
var domain = []string{module, module + "/devices", module + "/alerts", module + "/accounts",
	module + "/devices/zigbee2mqtt", module + "/devices/shelly", module + "/devices/vendors"}

// allowedOutside are the third-party packages a domain package may use, and
// why (docs/architecture.md says more).
var allowedOutside = map[string][]string{
	module + "/devices":  {"github.com/go-json-experiment/json"}, // the payload tokenizer (encoding/json/v2's jsontext)
	module + "/accounts": {"golang.org/x/crypto"},                // argon2id password hashes
}

// goList maps every package of the module to the list the template field
// gives: Imports (direct) or Deps (transitive).
func goList(t *testing.T, field string) map[string][]string {
	t.Helper()
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}} {{join .`+field+` " "}}`, "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	m := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		m[f[0]] = f[1:]
	}
	if len(m) < 10 {
		t.Fatalf("go list found only %d packages", len(m))
	}
	return m
}

func isStd(p string) bool {
	first, _, _ := strings.Cut(p, "/")
	return !strings.Contains(first, ".")
}

// TestDomainImportsNoAdapters holds the shape of the code: the domain
// packages know nothing of MQTT, SQL, HTTP or each library's adapter.
func TestDomainImportsNoAdapters(t *testing.T) {
	imports, all := goList(t, "Imports"), goList(t, "Deps")
	for _, pkg := range domain {
		if _, ok := imports[pkg]; !ok {
			t.Fatalf("%s not found by go list", pkg)
		}
		for _, d := range all[pkg] {
			if strings.HasPrefix(d, module+"/") && !slices.Contains(domain, d) {
				t.Errorf("%s imports %s: a domain package imports only other domain packages", pkg, d)
			}
		}
		for _, d := range imports[pkg] {
			switch {
			case isStd(d), slices.Contains(domain, d):
			case !slices.ContainsFunc(allowedOutside[pkg], func(p string) bool { return d == p || strings.HasPrefix(d, p+"/") }):
				t.Errorf("%s imports %s: not in the domain's allowed libraries (deps_test.go, docs/architecture.md)", pkg, d)
			}
		}
	}
}

// TestStoreAndEngineDoNotImportConsole: the store and the engine own no HTTP;
// domain types live in the domain, so nothing under hub/ needs the console.
func TestStoreAndEngineDoNotImportConsole(t *testing.T) {
	for pkg, list := range goList(t, "Deps") {
		if !strings.HasPrefix(pkg, module+"/hub") {
			continue
		}
		if slices.Contains(list, module+"/console") {
			t.Errorf("%s imports %s/console", pkg, module)
		}
		if pkg == module+"/hub/sqlstore" || strings.HasPrefix(pkg, module+"/hub/sqlstore/") {
			for _, d := range list {
				if strings.HasPrefix(d, module+"/") && !slices.Contains(domain, d) && !strings.HasPrefix(d, module+"/hub/sqlstore") {
					t.Errorf("%s imports %s: the store imports only domain packages", pkg, d)
				}
			}
		}
	}
}

// TestOnlyTheInfluxAdapterKnowsLineProtocol: the engine and the outbox
// carry telemetry records as opaque bytes made by a format they are handed
// (influx.Format), so neither imports the InfluxDB adapter; the outbox owns
// its own SQLite file and imports no store. Only main wires them together.
func TestOnlyTheInfluxAdapterKnowsLineProtocol(t *testing.T) {
	deps := goList(t, "Deps")
	for _, pkg := range []string{module + "/hub", module + "/hub/outbox"} {
		list, ok := deps[pkg]
		if !ok {
			t.Fatalf("%s not found by go list", pkg)
		}
		for _, banned := range []string{module + "/hub/influx", module + "/hub/sqlstore"} {
			if slices.Contains(list, banned) {
				t.Errorf("%s imports %s", pkg, banned)
			}
		}
	}
	for _, d := range deps[module+"/hub/outbox"] {
		if strings.HasPrefix(d, module+"/") && !slices.Contains(domain, d) {
			t.Errorf("hub/outbox imports %s: it needs only the domain", d)
		}
	}
}
