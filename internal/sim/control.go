package sim

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/shouwang-hub/shouwang/devices"
)

// Actions of the control endpoint, as `devsim trigger` names them.
var Actions = []string{"press", "test", "smoke", "smoke-clear", "gas", "gas-clear", "silence", "resume", "call", "hangup"}

// DefaultGasStep is the time between two readings of a triggered gas leak.
const DefaultGasStep = 2 * time.Second

// TriggerResult is the control endpoint's answer to a trigger.
type TriggerResult struct {
	ID     string `json:"id"`
	Action string `json:"action"`
	Seq    uint64 `json:"seq,omitempty"` // the event's sequence number, for event triggers
	Note   string `json:"note,omitempty"`
	Call   string `json:"call,omitempty"` // the call ID, for call
}

// ControlHandler serves the simulator's control endpoint, for `devsim
// trigger` and scripts. It has no authentication: serve it on loopback only.
//
//	POST /v1/{action}/{id}     trigger an action (Actions) on a device
//	                           gas takes ?levels=2,5,12&step=2s and runs in the background;
//	                           call offers a voice call and answers once the hub has
//	                           answered (the clip then streams until a hang-up);
//	                           hangup hangs up the device's calls
//	GET  /v1/stats             Stats as JSON
//	GET  /v1/received/{id}     the device's downlink payloads, as a JSON array of strings
func (s *Sim) ControlHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/{action}/{id}", s.handleTrigger)
	mux.HandleFunc("GET /v1/stats", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, s.Stats())
	})
	mux.HandleFunc("GET /v1/received/{id}", func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("id")
		if _, err := s.device(id); err != nil {
			writeError(w, err)
			return
		}
		out := []string{}
		for _, p := range s.Received(id) {
			out = append(out, string(p))
		}
		writeJSON(w, http.StatusOK, out)
	})
	return mux
}

func (s *Sim) handleTrigger(w http.ResponseWriter, r *http.Request) {
	action, id := r.PathValue("action"), r.PathValue("id")
	res := TriggerResult{ID: id, Action: action}
	seq, oneShot, err := s.OneShot(action, id)
	res.Seq = seq
	switch {
	case oneShot:
	case action == "silence":
		err = s.Silence(id)
	case action == "resume":
		err = s.Resume(id)
	case action == "call":
		var c *Call
		c, err = s.Call(r.Context(), id, s.ownCallOptions())
		if err == nil {
			res.Call = c.ID()
			res.Note = fmt.Sprintf("call %s answered by the hub; streaming the clip until hung up", c.ID())
		}
	case action == "hangup":
		var n int
		n, err = s.HangupCalls(id)
		res.Note = fmt.Sprintf("%d call(s) hung up", n)
	case action == "gas":
		var levels []float64
		var step time.Duration
		levels, step, err = gasParams(r.URL.Query())
		if err == nil {
			_, err = s.sensor(id, devices.KindGas)
		}
		if err == nil {
			go func() {
				if err := s.GasLeak(s.ctx, id, levels, step); err != nil && !errors.Is(err, context.Canceled) {
					s.log.Warn("gas leak stopped", "device", id, "err", err)
				}
			}()
			res.Note = fmt.Sprintf("leak of %d readings started, one every %v", len(levels), step)
		}
	default:
		writeJSON(w, http.StatusNotFound, map[string]string{
			"error": fmt.Sprintf("unknown action %q (known: %s)", action, strings.Join(Actions, ", ")),
		})
		return
	}
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

func gasParams(q url.Values) ([]float64, time.Duration, error) {
	levels := DefaultGasLeak
	if v := q.Get("levels"); v != "" {
		levels = nil
		for f := range strings.SplitSeq(v, ",") {
			x, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
			if err != nil {
				return nil, 0, fmt.Errorf("levels %q: %w", v, errBadRequest)
			}
			levels = append(levels, x)
		}
	}
	step := DefaultGasStep
	if v := q.Get("step"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			return nil, 0, fmt.Errorf("step %q: %w", v, errBadRequest)
		}
		step = d
	}
	return levels, step, nil
}

var errBadRequest = errors.New("bad request")

func writeError(w http.ResponseWriter, err error) {
	status := http.StatusInternalServerError
	switch {
	case errors.Is(err, ErrUnknownDevice):
		status = http.StatusNotFound
	case errors.Is(err, ErrWrongKind), errors.Is(err, errBadRequest):
		status = http.StatusBadRequest
	case errors.Is(err, ErrSilenced), errors.Is(err, ErrNotConnected), errors.Is(err, ErrCallEnded):
		status = http.StatusConflict
	case errors.Is(err, ErrClosed):
		status = http.StatusServiceUnavailable
	}
	writeJSON(w, status, map[string]string{"error": err.Error()})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// Trigger asks a running simulator's control endpoint at addr (host:port or
// a URL) to perform action on device id. params carries the gas options
// (levels, step).
func Trigger(ctx context.Context, addr, action, id string, params url.Values) (*TriggerResult, error) {
	if !slices.Contains(Actions, action) {
		return nil, fmt.Errorf("unknown action %q (known: %s)", action, strings.Join(Actions, ", "))
	}
	base := addr
	if !strings.Contains(base, "://") {
		base = "http://" + base
	}
	u := strings.TrimRight(base, "/") + "/v1/" + action + "/" + url.PathEscape(id)
	if len(params) > 0 {
		u += "?" + params.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, nil)
	if err != nil {
		return nil, fmt.Errorf("trigger: %w", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("reach the control endpoint: %w", err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("trigger: read response: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Error string `json:"error"`
		}
		if json.Unmarshal(raw, &e) != nil || e.Error == "" {
			e.Error = clipText(string(raw))
		}
		return nil, fmt.Errorf("trigger %s %s: HTTP %d: %s", action, id, resp.StatusCode, e.Error)
	}
	var res TriggerResult
	if err := json.Unmarshal(raw, &res); err != nil {
		return nil, fmt.Errorf("trigger: decode response: %w", err)
	}
	return &res, nil
}
