package console

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"regexp"
	"strings"

	"github.com/shouwang-hub/shouwang"
	"github.com/shouwang-hub/shouwang/accounts"
	"github.com/shouwang-hub/shouwang/alerts"
	"github.com/shouwang-hub/shouwang/devices"
)

// CallService is what the console needs from the hub's voice calls: an
// operator's browser answers a ringing call with its own WebRTC offer, hangs
// up, asks a voice-capable device to call back, and plays recordings back.
// Errors are *shouwang.Error: ENOTFOUND (no such call or recording),
// ECONFLICT (already answered or ended), EINVALID (a bad SDP, a device that
// cannot call).
type CallService interface {
	// Answer gives the browser's SDP offer for a ringing call and returns
	// the hub's SDP answer.
	Answer(ctx context.Context, callID string, by alerts.Actor, offerSDP string) (answerSDP string, err error)
	// Hangup ends the call on every side.
	Hangup(ctx context.Context, callID string, by alerts.Actor) error
	// Release lets go of by's answer whose audio never connected (reason
	// media_failed or media_timeout): the call rings again for every
	// console. A call that rings already is left as it is.
	Release(ctx context.Context, callID string, by alerts.Actor, reason string) error
	// Callback asks a voice-capable device to call the duty room.
	Callback(ctx context.Context, deviceID string, by alerts.Actor) error
	// Recording returns the path of a call's recording (Ogg/Opus) of one
	// side: "device" (what the resident said) or "console" (the operator).
	Recording(ctx context.Context, callID, side string) (path string, err error)
}

// Bounds on call requests.
const (
	// maxSDPBody caps the answer request: an audio-only offer with every
	// candidate gathered is a few KiB.
	maxSDPBody = 64 << 10
	// Recording sides.
	sideDevice  = "device"
	sideConsole = "console"
)

// callIDPattern is the shape of a call id, chosen by the device.
var callIDPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// callAnswerers may answer, hang up, call back and hear recordings:
// everyone who answers alerts, not installers.
var callAnswerers = []accounts.Role{accounts.RoleOperator, accounts.RoleSupervisor, accounts.RoleAdmin}

func (s *Server) callRoutes() {
	s.mux.Handle("POST /api/v1/calls/{id}/answer", s.require(callAnswerers, s.calls(s.answerCall)))
	s.mux.Handle("POST /api/v1/calls/{id}/hangup", s.require(callAnswerers, s.calls(s.hangupCall)))
	s.mux.Handle("POST /api/v1/calls/{id}/release", s.require(callAnswerers, s.calls(s.releaseCall)))
	s.mux.Handle("POST /api/v1/devices/{id}/callback", s.require(callAnswerers, s.calls(s.callback)))
	s.mux.Handle("GET /api/v1/calls/{id}/recordings/{side}", s.require(callAnswerers, s.calls(s.recording)))
	s.mux.Handle("GET /api/v1/calls/ice-servers", s.require(callAnswerers, s.iceServers))
}

// iceServersResponse lists the STUN and TURN servers for the browser's
// RTCPeerConnection.
type iceServersResponse struct {
	ICEServers []ICEServer `json:"ice_servers"`
}

// iceServers tells the page which STUN and TURN servers to use, so a
// console across NAT gathers the candidates the hub's relay can reach. It
// is behind login: TURN credentials are in it.
func (s *Server) iceServers(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, iceServersResponse{ICEServers: append([]ICEServer{}, s.cfg.ICEServers...)})
}

// calls answers 503 when the hub has no voice calls.
func (s *Server) calls(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if s.cfg.Calls == nil {
			writeJSON(w, http.StatusServiceUnavailable, errorBody{Error: "voice calls are not available on this hub", Code: "unavailable"})
			return
		}
		h(w, r)
	}
}

// callID reads the {id} path parameter as a call id.
func callID(r *http.Request) (string, error) {
	id := r.PathValue("id")
	if !callIDPattern.MatchString(id) {
		return "", shouwang.Errorf(shouwang.EINVALID, "call id %q: must be 1 to 64 letters, digits, _ or -", id)
	}
	return id, nil
}

// actor is the logged-in user as the alerts domain names people.
func actor(r *http.Request) alerts.Actor {
	u := sessionFrom(r.Context()).user
	return alerts.Actor{Name: u.Username, Role: string(u.Role)}
}

// sdpBody is the answer request and its response.
type sdpBody struct {
	SDP string `json:"sdp"`
}

func (s *Server) answerCall(w http.ResponseWriter, r *http.Request) {
	id, err := callID(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var b sdpBody
	r.Body = http.MaxBytesReader(w, r.Body, maxSDPBody)
	if err := decodeJSON(w, r, &b); err != nil {
		s.writeError(w, r, err)
		return
	}
	if b.SDP == "" {
		s.writeError(w, r, shouwang.Errorf(shouwang.EINVALID, "sdp: required: the browser's SDP offer"))
		return
	}
	if !strings.HasPrefix(b.SDP, "v=0") {
		s.writeError(w, r, shouwang.Errorf(shouwang.EINVALID, "sdp: not an SDP offer (it must start with v=0)"))
		return
	}
	by := actor(r)
	answer, err := s.cfg.Calls.Answer(r.Context(), id, by, b.SDP)
	if err != nil {
		s.writeError(w, r, fmt.Errorf("answer call %s: %w", id, err))
		return
	}
	s.log.Info("call answered", "call", id, "by", by.Name)
	writeJSON(w, http.StatusOK, sdpBody{SDP: answer})
}

func (s *Server) hangupCall(w http.ResponseWriter, r *http.Request) {
	id, err := callID(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := decodeOptionalJSON(w, r, &struct{}{}); err != nil {
		s.writeError(w, r, err)
		return
	}
	by := actor(r)
	if err := s.cfg.Calls.Hangup(r.Context(), id, by); err != nil {
		s.writeError(w, r, fmt.Errorf("hang up call %s: %w", id, err))
		return
	}
	s.log.Info("call hung up", "call", id, "by", by.Name)
	w.WriteHeader(http.StatusNoContent)
}

// releaseBody is the release request: why the browser's connection never
// carried audio, a code the page shows in the operator's language.
type releaseBody struct {
	Reason string `json:"reason"`
}

// releaseCall answers POST /api/v1/calls/{id}/release: the browser that
// answered could not connect its audio, and gives the call back to every
// console rather than ending it.
func (s *Server) releaseCall(w http.ResponseWriter, r *http.Request) {
	id, err := callID(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var b releaseBody
	if err := decodeJSON(w, r, &b); err != nil {
		s.writeError(w, r, err)
		return
	}
	by := actor(r)
	if err := s.cfg.Calls.Release(r.Context(), id, by, b.Reason); err != nil {
		s.writeError(w, r, fmt.Errorf("release call %s: %w", id, err))
		return
	}
	s.log.Info("call released: the answer's audio never connected", "call", id, "by", by.Name, "reason", b.Reason)
	w.WriteHeader(http.StatusNoContent)
}

// callbackResponse says the device was asked to call; its call rings like
// any other.
type callbackResponse struct {
	Device    string `json:"device"`
	Requested bool   `json:"requested"`
}

func (s *Server) callback(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if !devices.ValidID(id) {
		s.writeError(w, r, shouwang.Errorf(shouwang.EINVALID, "device id %q: not a device id", id))
		return
	}
	if err := decodeOptionalJSON(w, r, &struct{}{}); err != nil {
		s.writeError(w, r, err)
		return
	}
	by := actor(r)
	if err := s.cfg.Calls.Callback(r.Context(), id, by); err != nil {
		s.writeError(w, r, fmt.Errorf("call back device %s: %w", id, err))
		return
	}
	s.log.Info("call back requested", "device", id, "by", by.Name)
	writeJSON(w, http.StatusAccepted, callbackResponse{Device: id, Requested: true})
}

// recording serves one side of a call's recording, with range requests so
// that the page's player can seek.
func (s *Server) recording(w http.ResponseWriter, r *http.Request) {
	id, err := callID(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	side := r.PathValue("side")
	if side != sideDevice && side != sideConsole {
		s.writeError(w, r, shouwang.Errorf(shouwang.EINVALID, "side %q: must be device or console", side))
		return
	}
	path, err := s.cfg.Calls.Recording(r.Context(), id, side)
	if err != nil {
		s.writeError(w, r, fmt.Errorf("find recording of call %s: %w", id, err))
		return
	}
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		s.writeError(w, r, shouwang.Errorf(shouwang.ENOTFOUND, "call %s has no %s recording", id, side))
		return
	} else if err != nil {
		s.writeError(w, r, fmt.Errorf("open recording: %w", err))
		return
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		s.writeError(w, r, fmt.Errorf("stat recording: %w", err))
		return
	}
	if !st.Mode().IsRegular() {
		s.writeError(w, r, shouwang.Errorf(shouwang.ENOTFOUND, "call %s has no %s recording", id, side))
		return
	}
	h := w.Header()
	h.Set("Content-Type", "audio/ogg")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Disposition", fmt.Sprintf(`inline; filename="call-%s-%s.ogg"`, id, side))
	// A resident's voice: never kept by shared caches.
	h.Set("Cache-Control", "private, no-cache")
	http.ServeContent(w, r, "", st.ModTime(), f)
}
