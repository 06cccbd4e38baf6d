package devices

import (
	"strings"

	"github.com/shouwang-hub/shouwang"
)

// GridRef names a grid (网格) of the governance hierarchy. Grid names
// repeat from community to community ("第一网格"), so a grid is named by
// its community and its own name together. A grid worker's account is
// bound to the grids they look after.
type GridRef struct {
	Community string `json:"community"`
	Grid      string `json:"grid"`
}

// GridRef returns the grid a location is in.
func (l Location) GridRef() GridRef { return GridRef{Community: l.Community, Grid: l.Grid} }

// String writes the grid as "community/grid", the form ParseGridRef reads.
func (g GridRef) String() string { return g.Community + "/" + g.Grid }

// ParseGridRef reads "community/grid" (the community may not contain '/').
func ParseGridRef(s string) (GridRef, error) {
	c, g, ok := strings.Cut(strings.TrimSpace(s), "/")
	ref := GridRef{Community: strings.TrimSpace(c), Grid: strings.TrimSpace(g)}
	if !ok {
		return ref, shouwang.Errorf(shouwang.EINVALID, "grid %q: write it as community/grid", clipText(s)).With("grid.format")
	}
	return ref, ref.Validate()
}

// Validate checks that both names are given and short.
func (g GridRef) Validate() error {
	if g.Community == "" || g.Grid == "" {
		return shouwang.Errorf(shouwang.EINVALID, "grid %q: both the community and the grid are required", g.String()).With("grid.format")
	}
	if strings.Contains(g.Community, "/") {
		return shouwang.Errorf(shouwang.EINVALID, "grid %q: a community name may not contain '/'", g.String()).With("grid.format")
	}
	if err := checkText("grid.community", g.Community, maxShortText); err != nil {
		return err
	}
	return checkText("grid.grid", g.Grid, maxShortText)
}

func clipText(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}
