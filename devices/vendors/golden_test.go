package vendors

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the expected output of the golden files")

const separator = "----------"

// TestGolden runs each file of testdata/golden: decode input lines (with
// # comments, and "# wait 10s" to let time pass; each line is a second
// after the last), a separator, and the decode output lines expected, one
// per input line. The header comments cite where each payload comes from.
func TestGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/golden/*/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden files: %v", err)
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(strings.TrimPrefix(file, "testdata/golden/"), ".txt"), func(t *testing.T) {
			raw, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			in, want, ok := strings.Cut(string(raw), "\n"+separator+"\n")
			if !ok && !*update {
				t.Fatalf("%s: no %s line", file, separator)
			}
			got := runLines(t, in)
			if *update {
				if err := os.WriteFile(file, []byte(in+"\n"+separator+"\n"+got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			if got != want {
				t.Errorf("%s: output differs\n got:\n%s\nwant:\n%s", file, got, want)
			}
		})
	}
}

func runLines(t *testing.T, in string) string {
	t.Helper()
	now := time.Unix(1_700_000_000, 0)
	s := NewSession()
	s.Now = func() time.Time { return now }
	var out bytes.Buffer
	sc := bufio.NewScanner(strings.NewReader(in))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if w, ok := strings.CutPrefix(line, "# wait "); ok {
			d, err := time.ParseDuration(w)
			if err != nil {
				t.Fatalf("bad wait %q", line)
			}
			now = now.Add(d)
			continue
		}
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		now = now.Add(time.Second)
		var input Input
		var o Output
		if err := json.Unmarshal([]byte(line), &input); err != nil {
			o = Output{Rejected: "not a decode input line: " + err.Error()}
		} else {
			o = s.Decode(input)
		}
		b, _ := json.Marshal(o)
		out.Write(b)
		out.WriteByte('\n')
	}
	return out.String()
}
