package console

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/shouwang-hub/shouwang"
	"github.com/shouwang-hub/shouwang/accounts"
)

// admins may manage accounts.
var admins = []accounts.Role{accounts.RoleAdmin}

func (s *Server) userRoutes() {
	s.mux.Handle("GET /api/v1/users", s.require(admins, s.listUsers))
	s.mux.Handle("POST /api/v1/users", s.require(admins, s.createUser))
	s.mux.Handle("POST /api/v1/users/{id}/password", s.require(admins, s.setUserPassword))
	s.mux.Handle("POST /api/v1/users/{id}/disable", s.require(admins, s.setUserDisabled(true)))
	s.mux.Handle("POST /api/v1/users/{id}/enable", s.require(admins, s.setUserDisabled(false)))
	s.mux.Handle("PUT /api/v1/users/{id}/profile", s.require(admins, s.setUserProfile))
}

type userList struct {
	Users []*accounts.User `json:"users"`
}

func (s *Server) listUsers(w http.ResponseWriter, r *http.Request) {
	us, err := s.cfg.Accounts.ListUsers(r.Context())
	if err != nil {
		s.writeError(w, r, fmt.Errorf("list users: %w", err))
		return
	}
	if us == nil {
		us = []*accounts.User{}
	}
	writeJSON(w, http.StatusOK, userList{Users: us})
}

type createUserRequest struct {
	Username string        `json:"username"`
	Role     accounts.Role `json:"role"`
	Password string        `json:"password"`
	accounts.Profile
}

func (s *Server) createUser(w http.ResponseWriter, r *http.Request) {
	var req createUserRequest
	if err := decodeJSON(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := accounts.ValidUsername(req.Username); err != nil {
		s.writeError(w, r, err)
		return
	}
	if !req.Role.Valid() {
		s.writeError(w, r, shouwang.Errorf(shouwang.EINVALID, "role %q: must be one of %s", req.Role, joinStrings(accounts.Roles)))
		return
	}
	if err := accounts.ValidPassword(req.Password); err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := checkProfile(req.Role, req.Profile); err != nil {
		s.writeError(w, r, err)
		return
	}
	// Login throttling ignores case, and so do people reading a list of
	// names: refuse "Admin" beside "admin". (The store refuses exact
	// duplicates atomically; this catches the confusing ones.)
	us, err := s.cfg.Accounts.ListUsers(r.Context())
	if err != nil {
		s.writeError(w, r, fmt.Errorf("list users: %w", err))
		return
	}
	for _, u := range us {
		if strings.EqualFold(u.Username, req.Username) {
			s.writeError(w, r, shouwang.Errorf(shouwang.ECONFLICT, "user %q already exists", u.Username))
			return
		}
	}
	hash, err := accounts.HashPassword(req.Password)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	u, err := s.cfg.Accounts.CreateUser(r.Context(), req.Username, req.Role, hash)
	if err != nil {
		s.writeError(w, r, fmt.Errorf("create user: %w", err))
		return
	}
	if req.Phone != "" || len(req.Grids) > 0 {
		if err := s.cfg.Accounts.SetUserProfile(r.Context(), u.ID, req.Profile); err != nil {
			s.writeError(w, r, fmt.Errorf("create user %q: profile: %w", u.Username, err))
			return
		}
		u.Profile = req.Profile
	}
	s.log.Info("user created", "username", u.Username, "role", u.Role, "by", sessionFrom(r.Context()).user.Username)
	writeJSON(w, http.StatusCreated, map[string]any{"user": u})
}

// userID reads the {id} path parameter.
func userID(r *http.Request) (int64, error) {
	v := r.PathValue("id")
	id, err := strconv.ParseInt(v, 10, 64)
	if err != nil || id <= 0 {
		return 0, shouwang.Errorf(shouwang.EINVALID, "user id %q: must be a positive whole number", v)
	}
	return id, nil
}

type passwordRequest struct {
	Password string `json:"password"`
}

// setUserPassword sets an account's password: a forgotten one, or one that
// may have leaked. Every session and API token of the account ends at once,
// in the store's transaction, so whoever held one must log in with the new
// password. Admins setting their own password stay logged in through the
// session or token they did it with; their other ones end.
func (s *Server) setUserPassword(w http.ResponseWriter, r *http.Request) {
	id, err := userID(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var req passwordRequest
	if err := decodeJSON(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := accounts.ValidPassword(req.Password); err != nil {
		s.writeError(w, r, err)
		return
	}
	hash, err := accounts.HashPassword(req.Password)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	keep := ""
	if sess := sessionFrom(r.Context()); sess.user.ID == id {
		keep = sess.tokenHash
	}
	if err := s.cfg.Accounts.SetUserPassword(r.Context(), id, hash, keep); err != nil {
		s.writeError(w, r, fmt.Errorf("set password: %w", err))
		return
	}
	s.sessionsEnded()
	s.userChanged(w, r, id, "user password set; sessions and tokens ended")
}

// setUserDisabled returns the handler that disables or enables an account.
// Disabling ends all the account's sessions and tokens (in the store), so
// enabling it again means logging in afresh. Admins cannot disable
// themselves, so there is always one to undo it.
func (s *Server) setUserDisabled(disabled bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, err := userID(r)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		if disabled && id == sessionFrom(r.Context()).user.ID {
			s.writeError(w, r, shouwang.Errorf(shouwang.ECONFLICT, "you cannot disable your own account; ask another admin"))
			return
		}
		if err := s.cfg.Accounts.SetUserDisabled(r.Context(), id, disabled); err != nil {
			s.writeError(w, r, fmt.Errorf("set user disabled: %w", err))
			return
		}
		msg := "user enabled"
		if disabled {
			msg = "user disabled; sessions and tokens ended"
			s.sessionsEnded()
		}
		s.userChanged(w, r, id, msg)
	}
}

// sessionsEnded closes, at once, the live feeds whose sessions an account
// change has just ended (each feed re-checks its own session).
func (s *Server) sessionsEnded() {
	if s.live != nil {
		s.live.recheckSessions()
	}
}

// userChanged logs a change to account id and answers with the account.
func (s *Server) userChanged(w http.ResponseWriter, r *http.Request, id int64, msg string) {
	u, err := s.cfg.Accounts.UserByID(r.Context(), id)
	if err != nil {
		s.writeError(w, r, fmt.Errorf("find user: %w", err))
		return
	}
	s.log.Info(msg, "username", u.Username, "by", sessionFrom(r.Context()).user.Username)
	writeJSON(w, http.StatusOK, map[string]any{"user": u})
}

// checkProfile validates a profile for a role: grids are a grid worker's,
// and a grid worker looks after at least one.
func checkProfile(role accounts.Role, p accounts.Profile) error {
	if err := p.Validate(); err != nil {
		return err
	}
	switch {
	case role == accounts.RoleGridWorker && len(p.Grids) == 0:
		return shouwang.Errorf(shouwang.EINVALID, "grids: a grid worker looks after at least one grid (community/grid)").With("grid.required")
	case role != accounts.RoleGridWorker && len(p.Grids) > 0:
		return shouwang.Errorf(shouwang.EINVALID, "grids: only a grid worker is bound to grids, not %s", role).With("grid.not_gridworker")
	}
	return nil
}

// setUserProfile replaces a user's phone and grids.
func (s *Server) setUserProfile(w http.ResponseWriter, r *http.Request) {
	id, err := userID(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var p accounts.Profile
	if err := decodeJSON(w, r, &p); err != nil {
		s.writeError(w, r, err)
		return
	}
	u, err := s.cfg.Accounts.UserByID(r.Context(), id)
	if err != nil {
		s.writeError(w, r, fmt.Errorf("set profile: %w", err))
		return
	}
	if err := checkProfile(u.Role, p); err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := s.cfg.Accounts.SetUserProfile(r.Context(), id, p); err != nil {
		s.writeError(w, r, fmt.Errorf("set profile: %w", err))
		return
	}
	u.Profile = p
	s.log.Info("user profile set", "username", u.Username, "grids", len(p.Grids), "by", sessionFrom(r.Context()).user.Username)
	writeJSON(w, http.StatusOK, map[string]any{"user": u})
}
