package console

import (
	"context"
	"net/http"
	"time"
)

// Instance is one hub instance sharing the store, as GET /api/v1/instances
// lists it: its heartbeat, whether it is alive, and the leases it holds
// (what it owns: supervision, pruning, telemetry sessions).
type Instance struct {
	Name      string    `json:"name"`
	URL       string    `json:"url,omitempty"`
	StartedAt time.Time `json:"started_at"`
	Heartbeat time.Time `json:"heartbeat"`
	Stopped   bool      `json:"stopped,omitempty"`
	Alive     bool      `json:"alive"`
	Self      bool      `json:"self,omitempty"` // the instance answering
	Leases    []string  `json:"leases,omitempty"`
}

// InstancesResponse is GET /api/v1/instances.
type InstancesResponse struct {
	Instances []Instance `json:"instances"`
}

func (s *Server) instanceRoutes() {
	s.mux.Handle("GET /api/v1/instances", s.require(nil, s.listInstances))
}

func (s *Server) listInstances(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Instances == nil {
		writeJSON(w, http.StatusOK, InstancesResponse{Instances: []Instance{}})
		return
	}
	list, err := s.cfg.Instances(r.Context())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if list == nil {
		list = []Instance{}
	}
	writeJSON(w, http.StatusOK, InstancesResponse{Instances: list})
}

// InstanceLister lists the hub's instances.
type InstanceLister func(ctx context.Context) ([]Instance, error)
