package sim

import (
	"context"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/shouwang-hub/shouwang/devices"
)

// fakeConsole answers imports as the console's contract says: it parses the
// CSV, and issues a password per device or refuses with row errors.
func fakeConsole(t *testing.T, token string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.Method != http.MethodPost || r.URL.Path != "/api/v1/devices/import" || r.Header.Get("Content-Type") != "text/csv" {
			w.WriteHeader(http.StatusNotFound)
			json.NewEncoder(w).Encode(map[string]string{"error": "not found: " + r.Method + " " + r.URL.Path, "code": "not_found"})
			return
		}
		if r.Header.Get("Authorization") != "Bearer "+token {
			w.WriteHeader(http.StatusUnauthorized)
			json.NewEncoder(w).Encode(map[string]string{"error": "login required", "code": "unauthorized"})
			return
		}
		ds, rowErrs, err := devices.ParseCSV(r.Body)
		if err != nil || len(rowErrs) > 0 {
			w.WriteHeader(http.StatusBadRequest)
			json.NewEncoder(w).Encode(map[string]any{"error": "bad rows", "code": "invalid", "rows": rowErrs})
			return
		}
		type cred struct {
			ID       string `json:"id"`
			Password string `json:"password"`
		}
		creds := []cred{}
		for i := len(ds) - 1; i >= 0; i-- { // any order
			creds = append(creds, cred{ds[i].ID, "pw-" + ds[i].ID})
		}
		w.WriteHeader(http.StatusCreated)
		json.NewEncoder(w).Encode(map[string]any{"imported": len(ds), "credentials": creds})
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestRegisterAndCredentialsRoundTrip(t *testing.T) {
	srv := fakeConsole(t, "tok")
	ds := Community("阳光社区", 2, 3, rand.New(rand.NewPCG(4, 4)))
	specs, err := Register(context.Background(), srv.URL+"/", "tok", ds)
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range specs {
		if s.Device != ds[i] || s.Password != "pw-"+ds[i].ID {
			t.Fatalf("specs[%d] = %s/%s, want %s with its password", i, s.Device.ID, s.Password, ds[i].ID)
		}
	}

	dir := filepath.Join(t.TempDir(), "demo")
	if err := SaveCredentials(dir, specs); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(filepath.Join(dir, CredentialsFile)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("credentials file: %v, %v; want mode 0600", fi.Mode(), err)
	}
	back, err := LoadCredentials(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, specs) {
		t.Error("LoadCredentials did not return what SaveCredentials saved")
	}

	// A device without a password is an error, not a silent skip.
	if err := os.WriteFile(filepath.Join(dir, CredentialsFile), []byte("id,password\n"+ds[0].ID+",x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadCredentials(dir); err == nil {
		t.Error("LoadCredentials with missing passwords: no error")
	}
	if _, err := LoadCredentials(t.TempDir()); err == nil {
		t.Error("LoadCredentials of an empty directory: no error")
	}
}

func TestRegisterRefused(t *testing.T) {
	srv := fakeConsole(t, "tok")
	ds := Community("阳光社区", 1, 2, rand.New(rand.NewPCG(4, 4)))

	_, err := Register(context.Background(), srv.URL, "wrong", ds)
	var ie *ImportError
	if !errors.As(err, &ie) || ie.Status != http.StatusUnauthorized || ie.Code != "unauthorized" {
		t.Errorf("wrong token: %v, want an unauthorized ImportError", err)
	}

	bad := *ds[0]
	bad.ID = "bad id"
	_, err = Register(context.Background(), srv.URL, "tok", append(ds, &bad))
	if !errors.As(err, &ie) || ie.Status != http.StatusBadRequest || len(ie.Rows) != 1 || ie.Rows[0].ID != "bad id" {
		t.Errorf("bad row: %v, want an ImportError naming the row", err)
	}
}
