package parts

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

func TestInfluxQuery(t *testing.T) {
	var form url.Values
	answer := ""
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/query" || r.Method != http.MethodPost {
			t.Errorf("request %s %s; want POST /query", r.Method, r.URL.Path)
		}
		b, _ := io.ReadAll(r.Body)
		form, _ = url.ParseQuery(string(b))
		io.WriteString(w, answer)
	}))
	defer srv.Close()
	query := func(q string) ([]Series, error) {
		return InfluxQuery(context.Background(), srv.Client(), srv.URL+"/", "shouwang", q)
	}

	answer = `{"results":[{"statement_id":0,"series":[{"name":"gas","tags":{"device":"d1"},"columns":["time","count"],"values":[[0,3]]}]}]}`
	series, err := query(`SELECT count("lel") FROM "gas" GROUP BY "device"`)
	if err != nil {
		t.Fatal(err)
	}
	if form.Get("db") != "shouwang" || form.Get("epoch") != "ms" || form.Get("q") != `SELECT count("lel") FROM "gas" GROUP BY "device"` {
		t.Errorf("form = %v", form)
	}
	if len(series) != 1 || series[0].Name != "gas" || series[0].Tags["device"] != "d1" || series[0].Values[0][1] != 3.0 {
		t.Errorf("series = %+v", series)
	}

	answer = `{"results":[{"statement_id":0}]}`
	if series, err := query("CREATE DATABASE shouwang"); err != nil || len(series) != 0 {
		t.Errorf("CREATE DATABASE = %v, %v; want no series, no error", series, err)
	}

	for _, tc := range []struct{ answer, want string }{
		{`{"error":"missing required parameter \"q\""}`, `query "X": missing required parameter "q"`},
		{`{"results":[{"statement_id":0,"error":"database not found: nope"}]}`, `query "X": database not found: nope`},
		{`{"results":[{},{}]}`, `query "X": 2 results, want one statement`},
		{`<html>` + strings.Repeat("x", 500), `query "X": 200 OK: <html>` + strings.Repeat("x", 194)},
	} {
		answer = tc.answer
		if _, err := query("X"); err == nil || err.Error() != tc.want {
			t.Errorf("answer %.40s: error %v; want %s", tc.answer, err, tc.want)
		}
	}
}
