package alerts_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/shouwang-hub/shouwang/alerts"
)

func TestClock(t *testing.T) {
	for s, want := range map[string]alerts.Clock{"00:00": 0, "06:30": 390, "23:59": 1439, "24:00": 1440} {
		if c, err := alerts.ParseClock(s); err != nil || c != want || c.String() != s {
			t.Errorf("ParseClock(%q) = %v (%s), %v; want %d", s, int(c), c, err, int(want))
		}
	}
	for _, s := range []string{"", "6:30", "06:60", "25:00", "24:01", "ab:cd", "06-30", "-1:00"} {
		if _, err := alerts.ParseClock(s); err == nil {
			t.Errorf("ParseClock(%q) took it", s)
		}
	}
	var c alerts.Clock
	if err := json.Unmarshal([]byte(`"07:15"`), &c); err != nil || c != 435 {
		t.Fatalf("unmarshal = %d, %v", int(c), err)
	}
	if b, _ := json.Marshal(c); string(b) != `"07:15"` {
		t.Fatalf("marshal = %s", b)
	}
}

// TestCheckinBook: windows judged in local time, each once; a household
// watched since after a window began is not judged on it; quiet periods;
// after days of downtime only the latest window is judged.
func TestCheckinBook(t *testing.T) {
	sh, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	day := func(d, h, m int) time.Time { return time.Date(2026, 3, d, h, m, 0, 0, sh) }
	b := alerts.NewCheckinBook(sh)
	since := day(1, 0, 0)
	b.Set(alerts.Watched{Household: "a", Watch: true, Since: since, Start: 6 * 60, End: 10 * 60}, day(2, 8, 0))
	b.Set(alerts.Watched{Household: "b", Watch: true, Since: since, Start: 20 * 60, End: 24 * 60}, day(2, 8, 0))
	b.Set(alerts.Watched{Household: "new", Watch: true, Since: day(2, 7, 0), Start: 6 * 60, End: 10 * 60}, day(2, 8, 0))
	b.Set(alerts.Watched{Household: "off", Watch: false, Since: since, Start: 6 * 60, End: 10 * 60}, day(2, 8, 0))
	if b.Len() != 3 {
		t.Fatalf("Len = %d, want 3 watched", b.Len())
	}
	// New to the book at 08:00 on the 2nd: the windows that ended last
	// (a's on the 1st at 10:00, b's at midnight) are judged at once.
	got := households(b.Due(day(2, 8, 0)))
	if got != "a(2026-03-01T06:00–10:00) b(2026-03-01T20:00–24:00)" {
		t.Fatalf("first Due = %s", got)
	}
	if next, _ := b.Next(); !next.Equal(day(2, 10, 0)) {
		t.Fatalf("Next = %v, want 10:00 on the 2nd", next)
	}
	b.Activity("a", day(2, 9, 0))
	b.Activity("new", day(2, 5, 0)) // before its window
	if st, _ := b.Status("a", day(2, 9, 30)); st.State != alerts.CheckinCheckedIn {
		t.Errorf("a at 09:30: %s", st.State)
	}
	if st, _ := b.Status("b", day(2, 9, 30)); st.State != alerts.CheckinWaiting {
		t.Errorf("b at 09:30: %s", st.State)
	}
	if got := households(b.Due(day(2, 10, 0))); got != "" {
		t.Fatalf("Due at 10:00 on the 2nd = %s; a checked in, new was watched only from 07:00", got)
	}
	if st, _ := b.Status("new", day(2, 11, 0)); st.State != alerts.CheckinNew {
		t.Errorf("new at 11:00: %s", st.State)
	}
	// b goes into hospital until the 4th at noon.
	b.Set(alerts.Watched{Household: "b", Watch: true, Since: since, Start: 20 * 60, End: 24 * 60, QuietUntil: day(4, 12, 0)}, day(2, 11, 0))
	if st, _ := b.Status("b", day(2, 21, 0)); st.State != alerts.CheckinQuiet {
		t.Errorf("b in hospital: %s", st.State)
	}
	// The hub is down from the 2nd at 11:00 to the 5th at 09:00: only the
	// latest window of each is judged.
	if got := households(b.Due(day(5, 9, 0))); got != "a(2026-03-04T06:00–10:00) new(2026-03-04T06:00–10:00) b(2026-03-04T20:00–24:00)" {
		t.Fatalf("Due after downtime = %s", got)
	}
	if st, _ := b.Status("a", day(5, 11, 0)); st.State != alerts.CheckinOverdue {
		t.Errorf("a at 11:00 on the 5th: %s", st.State)
	}
	b.Remove("a")
	if st, _ := b.Status("a", day(5, 11, 0)); st.State != alerts.CheckinOff || b.Len() != 2 {
		t.Errorf("removed a: %s, %d watched", st.State, b.Len())
	}
}

// TestCheckinBookDST: a window is judged at its local end on the day clocks
// change.
func TestCheckinBookDST(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	b := alerts.NewCheckinBook(berlin)
	start := time.Date(2026, 3, 28, 12, 0, 0, 0, berlin)
	b.Set(alerts.Watched{Household: "a", Watch: true, Since: start.Add(-48 * time.Hour), Start: 6 * 60, End: 10 * 60}, start)
	b.Due(start)
	for _, d := range []int{29, 30} { // clocks go forward on the 29th at 02:00
		end := time.Date(2026, 3, d, 10, 0, 0, 0, berlin)
		if next, _ := b.Next(); !next.Equal(end) {
			t.Fatalf("Next = %v, want %v", next, end)
		}
		if got := households(b.Due(end)); got != "a("+time.Date(2026, 3, d, 6, 0, 0, 0, berlin).Format("2006-01-02T15:04")+"–10:00)" {
			t.Fatalf("Due on the %d = %s", d, got)
		}
	}
}

func households(os []alerts.Overdue) string {
	s := ""
	for i, o := range os {
		if i > 0 {
			s += " "
		}
		end := o.WindowEnd.Format("15:04")
		if end == "00:00" {
			end = "24:00"
		}
		s += o.Household + "(" + o.WindowStart.Format("2006-01-02T15:04") + "–" + end + ")"
	}
	return s
}
