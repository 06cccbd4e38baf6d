package console_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/shouwang-hub/shouwang/alerts"
)

// webDicts reads the page's dictionaries — i18n.js and every module's
// strings-*.js, each a Chinese table then an English one (const en = {) —
// and returns the keys of each language.
func webDicts(t *testing.T) (zh, en map[string]bool) {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("web", "js", "strings-*.js"))
	if err != nil {
		t.Fatal(err)
	}
	files = append([]string{filepath.Join("web", "js", "i18n.js")}, files...)
	zh, en = map[string]bool{}, map[string]bool{}
	key := regexp.MustCompile(`(?m)(?:^|[{,\s])'([^'\n]+)':`)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		zhPart, enPart, ok := strings.Cut(string(b), "const en = {")
		if !ok {
			t.Fatalf("%s: no English table (const en = {)", f)
		}
		enPart, _, _ = strings.Cut(enPart, "\n};") // the table, not the code after it
		for part, set := range map[string]map[string]bool{zhPart: zh, enPart: en} {
			for _, m := range key.FindAllStringSubmatch(part, -1) {
				set[m[1]] = true
			}
		}
	}
	return zh, en
}

// Every string exists in both languages: a key in one table and not the
// other would show the Chinese in the English page, or the key itself.
func TestWebDictionariesMatch(t *testing.T) {
	zh, en := webDicts(t)
	if len(zh) < 100 {
		t.Fatalf("found only %d Chinese strings; is the pattern stale?", len(zh))
	}
	for k := range zh {
		if !en[k] && !pluralForm(k, zh, en) {
			t.Errorf("%s: Chinese only", k)
		}
	}
	for k := range en {
		if !zh[k] && !pluralForm(k, zh, en) {
			t.Errorf("%s: English only", k)
		}
	}
}

// pluralForm reports whether k is a plural form (key.one, …: i18n.js's
// tCount) of a key both languages have; a language has the forms it needs
// (English one, Chinese none).
func pluralForm(k string, zh, en map[string]bool) bool {
	for _, c := range []string{".zero", ".one", ".two", ".few", ".many"} {
		if base, ok := strings.CutSuffix(k, c); ok {
			return zh[base] && en[base]
		}
	}
	return false
}

// Every count the page says through tCount has its English singular: without
// it English reads "1 households".
func TestWebPluralForms(t *testing.T) {
	zh, en := webDicts(t)
	files, err := filepath.Glob(filepath.Join("web", "js", "*.js"))
	if err != nil {
		t.Fatal(err)
	}
	call := regexp.MustCompile(`\btCount\('([^']+)'`)
	seen := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range call.FindAllStringSubmatch(string(b), -1) {
			seen++
			if !zh[m[1]] || !en[m[1]] || !en[m[1]+".one"] {
				t.Errorf("%s: tCount(%q): want %[2]s in both languages and %[2]s.one in English", f, m[1])
			}
		}
	}
	if seen < 3 {
		t.Fatalf("found only %d counts said through tCount; is the pattern stale?", seen)
	}
}

// Every timeline code the hub writes has its name in both languages
// (timeline.js shows tl.<code>).
func TestWebTimelineCodes(t *testing.T) {
	zh, en := webDicts(t)
	for code := range alerts.TimelineCodes {
		if !zh["tl."+code] || !en["tl."+code] {
			t.Errorf("timeline code %s: tl.%s is not in both languages", code, code)
		}
	}
}

// Every error the server names by key (shouwang.Error.With) has its
// message in both languages (format.js shows err.<key>).
func TestWebErrorKeys(t *testing.T) {
	zh, en := webDicts(t)
	with := regexp.MustCompile(`\.With\("([a-z0-9_]+\.[a-z0-9_.]+)"`) // keys are dotted; slog attributes are not
	seen := 0
	err := filepath.WalkDir("..", func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".tools" || d.Name() == "testdata" || d.Name() == "node_modules" || strings.HasPrefix(d.Name(), ".") && d.Name() != "..") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range with.FindAllStringSubmatch(string(b), -1) {
			seen++
			if !zh["err."+m[1]] || !en["err."+m[1]] {
				t.Errorf("%s: error key %s: err.%s is not in both languages", path, m[1], m[1])
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if seen < 10 {
		t.Fatalf("found only %d keyed errors; is the pattern stale?", seen)
	}
}
