package accounts

import (
	"context"
	"slices"
	"time"

	"github.com/shouwang-hub/shouwang/devices"
)

// Role is what an account may do.
type Role string

// Roles, from the duty room out.
const (
	RoleOperator   Role = "operator"   // answers alerts
	RoleSupervisor Role = "supervisor" // answers and reviews (closes) alerts
	RoleInstaller  Role = "installer"  // registers and commissions devices
	RoleAdmin      Role = "admin"      // everything, including accounts
	// RoleGridWorker is a grid worker (网格员) on foot: bound to their
	// grids, they see those grids' alerts and the ones dispatched to them,
	// take a task, arrive, handle it and follow it up, from a phone.
	RoleGridWorker Role = "gridworker"
)

// Roles lists every role, from the duty room out.
var Roles = []Role{RoleOperator, RoleSupervisor, RoleInstaller, RoleAdmin, RoleGridWorker}

// Valid reports whether r is a known role.
func (r Role) Valid() bool { return slices.Contains(Roles, r) }

// User is a console account.
type User struct {
	ID        int64     `json:"id"`
	Username  string    `json:"username"`
	Role      Role      `json:"role"`
	CreatedAt time.Time `json:"created_at"`
	Disabled  bool      `json:"disabled,omitempty"`
	Profile
}

// Profile is what the street knows of a person beyond their role: a phone
// to reach them and, for a grid worker, the grids they look after.
type Profile struct {
	Phone string            `json:"phone,omitempty"`
	Grids []devices.GridRef `json:"grids,omitempty"`
}

// TokenKind tells browser sessions from API tokens.
type TokenKind string

// Token kinds.
const (
	TokenAPI     TokenKind = "api"
	TokenSession TokenKind = "session"
)

// Store keeps accounts and their tokens. Tokens are random and only their
// SHA-256 hashes are stored. Errors are *shouwang.Error with ENOTFOUND or
// ECONFLICT where a caller can act on them.
type Store interface {
	CreateUser(ctx context.Context, username string, role Role, passwordHash string) (*User, error)
	// UserByName returns the user and its password hash (for login).
	UserByName(ctx context.Context, username string) (*User, string, error)
	UserByID(ctx context.Context, id int64) (*User, error)
	ListUsers(ctx context.Context) ([]*User, error)
	// SetUserPassword replaces a user's password hash and, atomically with
	// it, ends (deletes) every token of that user except keepTokenHash: ""
	// when an admin resets someone's password, the caller's own token when
	// users change their own, so that they stay logged in there alone.
	SetUserPassword(ctx context.Context, id int64, passwordHash, keepTokenHash string) error
	CountUsers(ctx context.Context) (int, error)
	CreateToken(ctx context.Context, userID int64, kind TokenKind, name, tokenHash string, expires time.Time) error
	// UserByToken returns the live (unexpired) token's user; ENOTFOUND otherwise.
	UserByToken(ctx context.Context, tokenHash string, now time.Time) (*User, TokenKind, error)
	DeleteToken(ctx context.Context, tokenHash string) error
	// TouchToken moves the expiry of a token live at now forward to
	// expires (browser sessions slide); it never shortens one, nor gives an
	// expiry to a token that has none. ENOTFOUND if no such live token.
	TouchToken(ctx context.Context, tokenHash string, now, expires time.Time) error
	// SetUserDisabled disables or enables an account. A disabled account
	// cannot log in, and disabling it ends (deletes) all its tokens
	// atomically with the change, so that enabling it again brings none of
	// them back. UserByToken also refuses a disabled account's tokens.
	SetUserDisabled(ctx context.Context, id int64, disabled bool) error
	// SetUserProfile replaces a user's phone and grids (checked with
	// Profile.Validate).
	SetUserProfile(ctx context.Context, id int64, p Profile) error
}
