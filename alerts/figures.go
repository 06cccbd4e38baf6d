package alerts

import (
	"cmp"
	"slices"
	"time"
)

// Figures are a community's (or one of its grids') closed-loop figures
// over the alerts opened in a period, tests excluded: how fast the duty
// room answered, how fast grid workers got there, whether follow-ups were
// done on time, how many alarms were false, and how supervisors rated the
// handling. Shares and medians are computed by the one reading them (see
// the methods), from these counts.
type Figures struct {
	Community string `json:"community"`
	Grid      string `json:"grid"` // "" for the community as a whole

	Alerts     int `json:"alerts"`
	Accepted   int `json:"accepted"`
	Within60s  int `json:"accepted_within_60s"`
	Within180s int `json:"accepted_within_180s"`
	// MedianAccept is over the Accepted alerts only; MedianArrive over the
	// Arrived ones (from the alert's opening to the grid worker's arrival).
	MedianAccept time.Duration `json:"-"`
	Arrived      int           `json:"arrived"`
	MedianArrive time.Duration `json:"-"`
	// FollowUpsDue counts the alerts whose follow-up was asked for,
	// FollowUpsOnTime those recorded by their due time, FollowUpsDone those
	// recorded at all.
	FollowUpsDue    int `json:"followups_due"`
	FollowUpsOnTime int `json:"followups_on_time"`
	FollowUpsDone   int `json:"followups_done"`
	// Resolved counts the alerts resolved (with an outcome), FalseAlarms
	// those resolved as false alarms.
	Resolved    int `json:"resolved"`
	FalseAlarms int `json:"false_alarms"`
	// Reviewed counts the alerts a supervisor closed, Rated those given a
	// rating, RatingSum the sum of the ratings.
	Reviewed  int `json:"reviewed"`
	Rated     int `json:"rated"`
	RatingSum int `json:"rating_sum"`
}

// ComputeFigures folds alerts into figures per community and, with grids,
// per grid of each community, ordered by community then grid, each
// community's total first (Grid ""). Tests are left out.
func ComputeFigures(list []*Alert, grids bool) []Figures {
	type key struct{ community, grid string }
	acc := map[key]*figuresAcc{}
	add := func(k key, a *Alert) {
		f := acc[k]
		if f == nil {
			f = &figuresAcc{Figures: Figures{Community: k.community, Grid: k.grid}}
			acc[k] = f
		}
		f.add(a)
	}
	for _, a := range list {
		if a.Test {
			continue
		}
		loc := a.Device.Location
		add(key{loc.Community, ""}, a)
		if grids {
			add(key{loc.Community, loc.Grid}, a)
		}
	}
	out := make([]Figures, 0, len(acc))
	for _, f := range acc {
		f.MedianAccept, f.MedianArrive = median(f.accept), median(f.arrive)
		out = append(out, f.Figures)
	}
	slices.SortFunc(out, func(x, y Figures) int {
		return cmp.Or(cmp.Compare(x.Community, y.Community), cmp.Compare(x.Grid, y.Grid))
	})
	return out
}

type figuresAcc struct {
	Figures
	accept, arrive []time.Duration
}

func (f *figuresAcc) add(a *Alert) {
	f.Alerts++
	if !a.AcceptedAt.IsZero() {
		d := a.AcceptedAt.Sub(a.OpenedAt)
		f.Accepted++
		f.accept = append(f.accept, d)
		if d <= 60*time.Second {
			f.Within60s++
		}
		if d <= 180*time.Second {
			f.Within180s++
		}
	}
	if t := a.Task; t != nil && !t.ArrivedAt.IsZero() {
		f.Arrived++
		f.arrive = append(f.arrive, t.ArrivedAt.Sub(a.OpenedAt))
	}
	if fu := a.FollowUp; fu != nil {
		if !fu.Due.IsZero() {
			f.FollowUpsDue++
			if fu.OnTime() {
				f.FollowUpsOnTime++
			}
		}
		if !fu.DoneAt.IsZero() {
			f.FollowUpsDone++
		}
	}
	if !a.ResolvedAt.IsZero() && a.Outcome != "" {
		f.Resolved++
		if a.Outcome == OutcomeFalseAlarm {
			f.FalseAlarms++
		}
	}
	if r := a.Review; r != nil {
		f.Reviewed++
		if r.Rating > 0 {
			f.Rated++
			f.RatingSum += r.Rating
		}
	}
}

// Share returns n of total as a fraction, and false when total is 0.
func Share(n, total int) (float64, bool) {
	if total == 0 {
		return 0, false
	}
	return float64(n) / float64(total), true
}

// median returns the median of ds (the mean of the middle two for an even
// count), zero for none. It sorts ds.
func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	slices.Sort(ds)
	m := len(ds) / 2
	if len(ds)%2 == 1 {
		return ds[m]
	}
	return ds[m-1] + (ds[m]-ds[m-1])/2
}
