package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDecodeRecorded runs hubctl decode on recorded sequences
// (testdata/decode/*.jsonl) and compares with the .out beside each, from a
// file and from standard input.
func TestDecodeRecorded(t *testing.T) {
	files, _ := filepath.Glob("testdata/decode/*.jsonl")
	if len(files) == 0 {
		t.Fatal("no recorded sequences")
	}
	for _, f := range files {
		want, err := os.ReadFile(strings.TrimSuffix(f, ".jsonl") + ".out")
		if err != nil {
			t.Fatal(err)
		}
		r := hubctl(t, nil, "", "decode", f)
		r.want(t, 0, "", "")
		if r.stdout != string(want) {
			t.Errorf("%s: got\n%s\nwant\n%s", f, r.stdout, want)
		}
		in, _ := os.ReadFile(f)
		if r := hubctl(t, nil, string(in), "decode"); r.stdout != string(want) {
			t.Errorf("%s from stdin: got\n%s", f, r.stdout)
		}
	}
	hubctl(t, nil, "", "decode", "a", "b").want(t, 2, "", "at most one file")
}
