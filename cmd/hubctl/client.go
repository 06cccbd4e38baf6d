package main

import (
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
)

// apiError is an error answer from the console.
type apiError struct {
	Status  int
	Code    string     `json:"code"`
	Message string     `json:"error"`
	Rows    []rowError `json:"rows"`
}

type rowError struct {
	Line int    `json:"line"`
	ID   string `json:"id"`
	Err  string `json:"error"`
}

func (e *apiError) Error() string {
	if e.Status == http.StatusUnauthorized {
		return e.Message + " (log in with: hubctl login -user NAME)"
	}
	return e.Message
}

// request is one call to the console API.
type request struct {
	method      string
	path        string
	query       url.Values
	body        io.Reader
	contentType string
	auth        bool // send the token
}

// call sends rq and decodes a successful answer into out, if not nil.
func (c *cli) call(rq request, out any) error {
	u := c.server + rq.path
	if len(rq.query) > 0 {
		u += "?" + rq.query.Encode()
	}
	hr, err := http.NewRequestWithContext(c.ctx, rq.method, u, rq.body)
	if err != nil {
		return fmt.Errorf("bad server URL %q: %w", c.server, err)
	}
	hr.Header.Set("Accept", "application/json")
	if rq.contentType != "" {
		hr.Header.Set("Content-Type", rq.contentType)
	}
	if rq.auth {
		tok, err := c.authToken()
		if err != nil {
			return err
		}
		hr.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := c.http.Do(hr)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		var unknownCA x509.UnknownAuthorityError
		if errors.As(err, &unknownCA) {
			return fmt.Errorf("cannot reach the hub at %s: %w (trust its CA with -cafile or HUBCTL_CAFILE: the hub's own is <data>/tls/ca.crt)", c.server, err)
		}
		return fmt.Errorf("cannot reach the hub at %s: %w", c.server, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("read answer: %w", err)
	}
	if resp.StatusCode >= 400 {
		e := &apiError{Status: resp.StatusCode}
		if json.Unmarshal(body, e) != nil || e.Message == "" {
			e.Message = fmt.Sprintf("%s: %s", resp.Status, strings.TrimSpace(string(body[:min(len(body), 200)])))
		}
		return e
	}
	if out == nil || resp.StatusCode == http.StatusNoContent {
		return nil
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("unexpected answer from %s (%s): %w", c.server, resp.Status, err)
	}
	return nil
}

// jsonBody encodes v for a request.
func jsonBody(v any) io.Reader {
	b, err := json.Marshal(v)
	if err != nil {
		panic("hubctl: encode request: " + err.Error()) // only plain structs are sent
	}
	return strings.NewReader(string(b))
}

// tokenFile is where login saves the token: ~/.config/shouwang/token.
func tokenFile() (string, error) {
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("find the config directory: %w", err)
	}
	return filepath.Join(dir, "shouwang", "token"), nil
}

// authToken returns the token to send: -token, $HUBCTL_TOKEN, or the saved
// one.
func (c *cli) authToken() (string, error) {
	if c.token != "" {
		return c.token, nil
	}
	path, err := c.cfgFile()
	if err != nil {
		return "", err
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return "", errors.New("not logged in: run 'hubctl login -user NAME' or set HUBCTL_TOKEN")
	} else if err != nil {
		return "", fmt.Errorf("read token: %w", err)
	}
	c.token = strings.TrimSpace(string(b))
	return c.token, nil
}
