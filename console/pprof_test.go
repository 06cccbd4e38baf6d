package console_test

import (
	"net/http"
	"testing"

	"github.com/shouwang-hub/shouwang/accounts"
	"github.com/shouwang-hub/shouwang/console/consoletest"
)

func TestPprofIsForAdminsOnly(t *testing.T) {
	e := consoletest.Start(t)
	cases := []struct {
		token string
		want  int
	}{
		{"", http.StatusUnauthorized},
		{e.Tokens[accounts.RoleOperator], http.StatusForbidden},
		{e.Tokens[accounts.RoleSupervisor], http.StatusForbidden},
		{e.Tokens[accounts.RoleAdmin], http.StatusOK},
	}
	for _, c := range cases {
		req, _ := http.NewRequest("GET", e.URL+"/debug/pprof/heap?debug=1", nil)
		if c.token != "" {
			req.Header.Set("Authorization", "Bearer "+c.token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != c.want {
			t.Errorf("token %q: status %d, want %d", c.token, resp.StatusCode, c.want)
		}
	}
}
