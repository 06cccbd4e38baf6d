package sim

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/shouwang-hub/shouwang/devices"
)

// maxImportResponse bounds the console's answer to an import: a credential
// is well under 100 bytes, so this covers the largest import it accepts.
const maxImportResponse = 32 << 20

// ImportError is the console's refusal of an import.
type ImportError struct {
	Status  int                `json:"-"`
	Code    string             `json:"code"`
	Message string             `json:"error"`
	Rows    []devices.RowError `json:"rows,omitempty"`
}

func (e *ImportError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "import refused (HTTP %d, %s): %s", e.Status, e.Code, e.Message)
	for i, r := range e.Rows {
		if i == 5 {
			fmt.Fprintf(&b, "; and %d more rows", len(e.Rows)-i)
			break
		}
		b.WriteString("; " + r.Error())
	}
	return b.String()
}

type importResponse struct {
	Imported    int `json:"imported"`
	Credentials []struct {
		ID       string `json:"id"`
		Password string `json:"password"`
	} `json:"credentials"`
}

// Register registers ds with the console's bulk import (POST
// {server}/api/v1/devices/import, a CSV written by devices.WriteCSV, with
// the API token as a bearer token) and returns each device with the MQTT
// password the console issued, in the order of ds. A refusal is an
// *ImportError carrying the console's per-row errors.
func Register(ctx context.Context, server, token string, ds []*devices.Device) ([]DeviceSpec, error) {
	return RegisterWith(ctx, http.DefaultClient, server, token, ds)
}

// RegisterWith is Register through client, such as one that trusts the
// hub's CA for HTTPS.
func RegisterWith(ctx context.Context, client *http.Client, server, token string, ds []*devices.Device) ([]DeviceSpec, error) {
	var body bytes.Buffer
	if err := devices.WriteCSV(&body, ds); err != nil {
		return nil, fmt.Errorf("register: %w", err)
	}
	u := strings.TrimRight(server, "/") + "/api/v1/devices/import"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, &body)
	if err != nil {
		return nil, fmt.Errorf("register: %w", err)
	}
	req.Header.Set("Content-Type", "text/csv")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("register: %w", err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxImportResponse))
	if err != nil {
		return nil, fmt.Errorf("register: read response: %w", err)
	}
	if resp.StatusCode != http.StatusCreated {
		ie := &ImportError{Status: resp.StatusCode}
		if json.Unmarshal(raw, ie) != nil || ie.Message == "" {
			ie.Code, ie.Message = "unexpected_response", clipText(string(raw))
		}
		return nil, ie
	}
	var ir importResponse
	if err := json.Unmarshal(raw, &ir); err != nil {
		return nil, fmt.Errorf("register: decode response: %w", err)
	}
	pw := make(map[string]string, len(ir.Credentials))
	for _, c := range ir.Credentials {
		pw[c.ID] = c.Password
	}
	specs := make([]DeviceSpec, len(ds))
	for i, d := range ds {
		p, ok := pw[d.ID]
		if !ok || p == "" {
			return nil, fmt.Errorf("register: the console returned no password for %s (imported %d of %d)", d.ID, ir.Imported, len(ds))
		}
		specs[i] = DeviceSpec{Device: d, Password: p}
	}
	return specs, nil
}

func clipText(s string) string {
	r := []rune(strings.TrimSpace(s))
	if len(r) > 200 {
		return string(r[:200]) + "…"
	}
	return string(r)
}
