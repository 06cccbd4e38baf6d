package console

import (
	"net/http/pprof"

	"github.com/shouwang-hub/shouwang/accounts"
)

// pprofRoutes serves Go's profiling endpoints under /debug/pprof/, for
// admins only: a profile reveals memory contents and costs CPU while it
// runs, so it is never public.
func (s *Server) pprofRoutes() {
	admin := []accounts.Role{accounts.RoleAdmin}
	s.mux.Handle("GET /debug/pprof/", s.require(admin, pprof.Index))
	s.mux.Handle("GET /debug/pprof/cmdline", s.require(admin, pprof.Cmdline))
	s.mux.Handle("GET /debug/pprof/profile", s.require(admin, pprof.Profile))
	s.mux.Handle("GET /debug/pprof/symbol", s.require(admin, pprof.Symbol))
	s.mux.Handle("GET /debug/pprof/trace", s.require(admin, pprof.Trace))
}
