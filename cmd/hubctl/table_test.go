package main

import (
	"strings"
	"testing"
)

func TestTableAlignsWideCharacters(t *testing.T) {
	var tb table
	tb.add("ID", "LOCATION", "RESIDENT")
	tb.add("b-1", "青山社区 / 5栋", "王秀英")
	tb.add("g-10", "c", "-")
	var b strings.Builder
	if err := tb.print(&b); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	// The third column starts at the same terminal cell on every line.
	for _, l := range lines {
		cut := strings.LastIndex(l, "  ")
		if got := displayWidth(l[:cut+2]); got != 6+14+2 {
			t.Errorf("line %q: third column at cell %d, want %d", l, got, 22)
		}
	}
}
