package console

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/shouwang-hub/shouwang"
	"github.com/shouwang-hub/shouwang/accounts"
	"github.com/shouwang-hub/shouwang/alerts"
)

// NotifyService is the street's notification channels as the console
// shows and tests them (hub/notify).
type NotifyService interface {
	// ChannelList lists the configured channels, secrets masked, as JSON
	// values.
	ChannelList() any
	// Test sends a test message on a channel (to a number, for an SMS
	// gateway) and returns the provider's status, and an
	// *alerts.NotifyError or a transport error when it was not delivered;
	// a *shouwang.Error for a request that cannot be tried.
	Test(ctx context.Context, channel, to, lang string) (int, error)
}

var reviewers = []accounts.Role{accounts.RoleSupervisor, accounts.RoleAdmin}

func (s *Server) notifyRoutes() {
	s.mux.Handle("GET /api/v1/notify/channels", s.require(reviewers, s.listChannels))
	s.mux.Handle("POST /api/v1/notify/channels/{name}/test", s.require(admins, s.testChannel))
}

func (s *Server) listChannels(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Notify == nil {
		writeJSON(w, http.StatusOK, map[string]any{"channels": []any{}})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"channels": s.cfg.Notify.ChannelList()})
}

// TestResult is what a channel's test message came to: delivered, or the
// failure as the timeline would say it (an error code, the HTTP status,
// the provider's own code).
type TestResult struct {
	Delivered bool   `json:"delivered"`
	Status    int    `json:"status,omitempty"`
	Error     string `json:"error,omitempty"`    // an alerts.NotifyError* code
	Provider  string `json:"provider,omitempty"` // the provider's error code
	Detail    string `json:"detail,omitempty"`   // the technical text, for the log and scripts
}

// testChannel sends a test message and says whether it arrived.
func (s *Server) testChannel(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Notify == nil {
		s.writeError(w, r, shouwang.Errorf(shouwang.ENOTFOUND, "no notification channel is configured").With("notify.no_channel", "channel", r.PathValue("name")))
		return
	}
	var b struct {
		To   string `json:"to"`
		Lang string `json:"lang"`
	}
	if err := decodeOptionalJSON(w, r, &b); err != nil {
		s.writeError(w, r, err)
		return
	}
	if b.Lang != "" && b.Lang != "zh" && b.Lang != "en" {
		s.writeError(w, r, shouwang.Errorf(shouwang.EINVALID, "lang %q: zh or en", b.Lang))
		return
	}
	name := r.PathValue("name")
	status, err := s.cfg.Notify.Test(r.Context(), name, strings.TrimSpace(b.To), b.Lang)
	var se *shouwang.Error
	if errors.As(err, &se) {
		s.writeError(w, r, fmt.Errorf("test channel %s: %w", name, err))
		return
	}
	res := TestResult{Status: status, Delivered: err == nil && status/100 == 2}
	var ne *alerts.NotifyError
	var te interface{ Timeout() bool }
	switch {
	case errors.As(err, &ne):
		res.Error, res.Provider, res.Detail = ne.Code, ne.Provider, ne.Detail
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &te) && te.Timeout():
		res.Error, res.Detail = alerts.NotifyErrorTimeout, err.Error()
	case err != nil:
		res.Error, res.Detail = alerts.NotifyErrorUnreachable, err.Error()
	case !res.Delivered:
		res.Error = alerts.NotifyErrorStatus
	}
	s.log.Info("notification channel tested", "channel", name, "by", sessionFrom(r.Context()).user.Username, "delivered", res.Delivered, "error", res.Error)
	writeJSON(w, http.StatusOK, res)
}
