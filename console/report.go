package console

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/shouwang-hub/shouwang"
)

// The monthly report: the closed loop's figures of a month per community
// and grid — answer time (shares within 60 s and 180 s), time to arrive,
// follow-ups done on time, the false-alarm rate and the supervisors'
// ratings — as JSON for the console's printable page, or as CSV for a
// street office's spreadsheet, headed in the reader's language.

// MonthlyReport is GET /api/v1/reports/monthly as JSON.
type MonthlyReport struct {
	Month     string       `json:"month"` // YYYY-MM
	Community string       `json:"community,omitempty"`
	TimeZone  string       `json:"tz"`
	From      time.Time    `json:"from"`
	To        time.Time    `json:"to"`
	Rows      []FiguresRow `json:"rows"`
}

// reportColumns are the CSV's columns: the header in Chinese and English,
// and each row's value.
var reportColumns = []struct {
	zh, en string
	value  func(FiguresRow) string
}{
	{"社区", "community", func(r FiguresRow) string { return r.Community }},
	{"网格", "grid", func(r FiguresRow) string { return r.Grid }},
	{"警情数", "alerts", func(r FiguresRow) string { return strconv.Itoa(r.Alerts) }},
	{"已接警", "accepted", func(r FiguresRow) string { return strconv.Itoa(r.Accepted) }},
	{"60秒内接警", "accepted_within_60s", func(r FiguresRow) string { return strconv.Itoa(r.Within60s) }},
	{"60秒接警率", "share_within_60s", func(r FiguresRow) string { return fraction(r.ShareWithin60s) }},
	{"180秒内接警", "accepted_within_180s", func(r FiguresRow) string { return strconv.Itoa(r.Within180s) }},
	{"180秒接警率", "share_within_180s", func(r FiguresRow) string { return fraction(r.ShareWithin180s) }},
	{"接警用时中位数（秒）", "median_accept_seconds", func(r FiguresRow) string { return secondsText(r.MedianAcceptSeconds) }},
	{"网格员到场", "arrived", func(r FiguresRow) string { return strconv.Itoa(r.Arrived) }},
	{"到场用时中位数（秒）", "median_arrive_seconds", func(r FiguresRow) string { return secondsText(r.MedianArriveSeconds) }},
	{"应回访", "followups_due", func(r FiguresRow) string { return strconv.Itoa(r.FollowUpsDue) }},
	{"按时回访", "followups_on_time", func(r FiguresRow) string { return strconv.Itoa(r.FollowUpsOnTime) }},
	{"按时回访率", "share_followups_on_time", func(r FiguresRow) string { return fraction(r.ShareFollowUpsOnTime) }},
	{"已处置", "resolved", func(r FiguresRow) string { return strconv.Itoa(r.Resolved) }},
	{"误报", "false_alarms", func(r FiguresRow) string { return strconv.Itoa(r.FalseAlarms) }},
	{"误报率", "false_alarm_rate", func(r FiguresRow) string { return fraction(r.FalseAlarmRate) }},
	{"已复核", "reviewed", func(r FiguresRow) string { return strconv.Itoa(r.Reviewed) }},
	{"平均评分", "mean_rating", func(r FiguresRow) string { return decimal(r.MeanRating, 2) }},
}

// fraction writes a share as a fraction with four decimals ("0.9750"), or
// nothing where there was nothing to count.
func fraction(v *float64) string { return decimal(v, 4) }

func secondsText(v *float64) string { return decimal(v, 1) }

func decimal(v *float64, places int) string {
	if v == nil {
		return ""
	}
	return strconv.FormatFloat(*v, 'f', places, 64)
}

// monthlyReport answers ?month=YYYY-MM (required), optionally of one
// ?community=, the month's bounds in ?tz= (an IANA zone; the hub's own by
// default), as ?format=json (default) or csv with ?lang=zh (default) or en
// headers.
func (s *Server) monthlyReport(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	loc := time.Local
	if tz := q.Get("tz"); tz != "" {
		l, err := time.LoadLocation(tz)
		if err != nil {
			s.writeError(w, r, shouwang.Errorf(shouwang.EINVALID, "tz %q: not a time zone such as Asia/Shanghai", tz).With("report.bad_tz"))
			return
		}
		loc = l
	}
	start, err := time.ParseInLocation("2006-01", q.Get("month"), loc)
	if err != nil {
		s.writeError(w, r, shouwang.Errorf(shouwang.EINVALID, "month %q: want a month such as 2026-03", q.Get("month")).With("report.bad_month"))
		return
	}
	lang := q.Get("lang")
	switch lang {
	case "", "zh", "zh-CN":
		lang = "zh"
	case "en":
	default:
		s.writeError(w, r, shouwang.Errorf(shouwang.EINVALID, "lang %q: zh or en", lang))
		return
	}
	end := start.AddDate(0, 1, 0)
	community := q.Get("community")
	rows, err := s.figures(r.Context(), start, end, community)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	rep := MonthlyReport{Month: start.Format("2006-01"), Community: community, TimeZone: loc.String(), From: start, To: end, Rows: rows}
	switch q.Get("format") {
	case "", "json":
		writeJSON(w, http.StatusOK, rep)
	case "csv":
		s.writeReportCSV(w, r, rep, lang)
	default:
		s.writeError(w, r, shouwang.Errorf(shouwang.EINVALID, "format %q: json or csv", q.Get("format")))
	}
}

// writeReportCSV writes the report as UTF-8 CSV with a byte-order mark
// (so spreadsheets read the Chinese), one row per community total (its
// grid written as the language's "community total") and per grid.
func (s *Server) writeReportCSV(w http.ResponseWriter, r *http.Request, rep MonthlyReport, lang string) {
	var b bytes.Buffer
	b.WriteString("\ufeff")
	cw := csv.NewWriter(&b)
	head := make([]string, len(reportColumns))
	for i, c := range reportColumns {
		head[i] = map[string]string{"zh": c.zh, "en": c.en}[lang]
	}
	_ = cw.Write(head)
	total := map[string]string{"zh": "（社区合计）", "en": "(community total)"}[lang]
	for _, row := range rep.Rows {
		rec := make([]string, len(reportColumns))
		for i, c := range reportColumns {
			rec[i] = c.value(row)
		}
		if row.Grid == "" {
			rec[1] = total
		}
		_ = cw.Write(rec)
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		s.writeError(w, r, fmt.Errorf("monthly report: %w", err))
		return
	}
	name := "shouwang-" + rep.Month
	if rep.Community != "" {
		name += "-" + rep.Community
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", "attachment; filename*=UTF-8''"+url.PathEscape(name+".csv"))
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b.Bytes())
}
