package brokeracct

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

const secret = "emqx-shared-secret-for-tests"

// emqx serves the handler as the console mounts it and returns a function
// that POSTs a body to a path the way EMQX does, returning the status and
// the body of the answer.
func emqx(t testing.TB, a *Accounts) func(path, auth, body string) (int, string) {
	t.Helper()
	srv := httptest.NewServer(http.StripPrefix("/api/v1/broker/emqx", a.EMQXHandler(secret)))
	t.Cleanup(srv.Close)
	return func(path, auth, body string) (int, string) {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/api/v1/broker/emqx/"+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode == http.StatusOK && resp.Header.Get("Content-Type") != "application/json" {
			t.Errorf("answer's content type %q: EMQX wants application/json", resp.Header.Get("Content-Type"))
		}
		return resp.StatusCode, strings.TrimSpace(string(b))
	}
}

// The bodies are what EMQX 5 sends with the templates docs/operations.md
// gives (its placeholders filled in, with the extra ones EMQX offers), and
// the answers what its HTTP authenticator and authorizer read.
func TestEMQXRequestsAndAnswers(t *testing.T) {
	a, _ := testAccounts(t)
	post := emqx(t, a)
	bearer := "Bearer " + secret
	cases := []struct {
		path, auth, body string
		status           int
		answer           string
	}{
		{AuthnPath, bearer, `{"clientid":"sos-0001","username":"sos-0001","password":"pw-sos-0001","peerhost":"10.1.2.3"}`,
			200, `{"result":"allow","is_superuser":false}`},
		{AuthnPath, bearer, `{"clientid":"sos-0001","username":"sos-0001","password":"guess"}`,
			200, `{"result":"deny","is_superuser":false}`},
		{AuthnPath, bearer, `{"clientid":"sos-0404","username":"sos-0404","password":"x"}`,
			200, `{"result":"deny","is_superuser":false}`},
		{AuthnPath, bearer, `{"clientid":"mqttx_1","username":"","password":""}`,
			200, `{"result":"ignore","is_superuser":false}`},
		{AuthnPath, bearer, `{"clientid":"shouwang-hub","username":"hub","password":"hub-secret"}`,
			200, `{"result":"allow","is_superuser":false}`},
		{AuthzPath, bearer, `{"clientid":"sos-0001","username":"sos-0001","topic":"shouwang/v1/sos-0001/event","action":"publish","qos":1,"retain":"false"}`,
			200, `{"result":"allow"}`},
		{AuthzPath, bearer, `{"clientid":"sos-0001","username":"sos-0001","topic":"shouwang/v1/sos-0002/event","action":"publish","qos":"1"}`,
			200, `{"result":"deny"}`},
		{AuthzPath, bearer, `{"clientid":"sos-0001","username":"sos-0001","topic":"shouwang/v1/#","action":"subscribe","qos":1}`,
			200, `{"result":"deny"}`},
		{AuthzPath, bearer, `{"clientid":"shouwang-hub","username":"hub","topic":"$share/shouwang/shouwang/v1/+/telemetry","action":"subscribe"}`,
			200, `{"result":"allow"}`},
		// Without the shared secret nothing is answered: 401, which EMQX
		// treats as "ignore" (see operations.md for why no_match must be deny).
		{AuthnPath, "", `{"clientid":"sos-0001","username":"sos-0001","password":"pw-sos-0001"}`, 401, ""},
		{AuthnPath, "Bearer wrong", `{"clientid":"sos-0001","username":"sos-0001","password":"pw-sos-0001"}`, 401, ""},
		{AuthzPath, "Basic " + secret, `{"clientid":"a","username":"a","topic":"t","action":"publish"}`, 401, ""},
		// Not JSON, or two objects: 400.
		{AuthnPath, bearer, `clientid=sos-0001&username=sos-0001`, 400, ""},
		{AuthzPath, bearer, `{"username":"a"}{"username":"b"}`, 400, ""},
		{AuthzPath, bearer, `{"username":"` + strings.Repeat("x", 20000) + `"}`, 400, ""},
	}
	for _, c := range cases {
		status, answer := post(c.path, c.auth, c.body)
		if status != c.status || (c.answer != "" && answer != c.answer) {
			t.Errorf("POST %s %s: %d %s, want %d %s", c.path, clip(c.body), status, answer, c.status, c.answer)
		}
	}
	st := a.Stats()
	if st.Authn[Allow] != 2 || st.Authn[Deny] != 2 || st.Authn[Ignore] != 1 || st.Authz[Allow] != 2 || st.Authz[Deny] != 2 || st.Refused != 6 {
		t.Errorf("stats %+v", st)
	}
	// Only POST.
	srv := httptest.NewServer(a.EMQXHandler(secret))
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/" + AuthnPath)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET: %d", resp.StatusCode)
	}
}

// An empty secret refuses everything rather than letting anyone ask.
func TestEMQXWithoutASecretRefusesAll(t *testing.T) {
	a, _ := testAccounts(t)
	srv := httptest.NewServer(a.EMQXHandler(""))
	defer srv.Close()
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/"+AuthnPath, strings.NewReader(`{"username":"hub","password":"hub-secret","clientid":"x"}`))
	req.Header.Set("Authorization", "Bearer ")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("with an empty secret: %d", resp.StatusCode)
	}
}
