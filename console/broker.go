package console

import (
	"fmt"
	"net/http"

	"github.com/shouwang-hub/shouwang/accounts"
)

// A production broker beside the hub gets the registry's accounts from it:
// EMQX asks over HTTP (BrokerAuth, which checks its own shared secret, not
// a console login), and an administrator setting up mosquitto by hand takes
// its password and ACL files once (hubctl broker export).

// BrokerFiles are mosquitto's password and ACL files for the registry, and
// what the administrator must still do by hand.
type BrokerFiles struct {
	Passwd string   `json:"passwd"`
	ACL    string   `json:"acl"`
	Notes  []string `json:"notes,omitempty"`
}

// emqxPrefix is where Config.BrokerAuth answers.
const emqxPrefix = "/api/v1/broker/emqx"

func (s *Server) brokerRoutes() {
	if s.cfg.BrokerAuth != nil {
		s.mux.Handle(emqxPrefix+"/", http.StripPrefix(emqxPrefix, s.cfg.BrokerAuth))
	}
	s.mux.Handle("GET /api/v1/broker/mosquitto", s.require([]accounts.Role{accounts.RoleAdmin}, s.mosquittoFiles))
}

// mosquittoFiles answers GET /api/v1/broker/mosquitto: the files, for an
// admin (they hold every device's password hash).
func (s *Server) mosquittoFiles(w http.ResponseWriter, r *http.Request) {
	if s.cfg.MosquittoFiles == nil {
		writeJSON(w, http.StatusServiceUnavailable, errorBody{Error: "this hub cannot export broker files", Code: "unavailable"})
		return
	}
	f, err := s.cfg.MosquittoFiles(r.Context())
	if err != nil {
		s.writeError(w, r, fmt.Errorf("export mosquitto files: %w", err))
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	s.log.Info("mosquitto files exported", "by", sessionFrom(r.Context()).user.Username)
	writeJSON(w, http.StatusOK, f)
}
