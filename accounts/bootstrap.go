package accounts

import (
	"context"
	"fmt"

	"github.com/shouwang-hub/shouwang"
)

// AdminUsername is the account EnsureAdmin creates.
const AdminUsername = "admin"

// EnsureAdmin creates the account "admin" with role admin and the given
// password if no account exists yet, and reports whether it did. An empty
// password does nothing, so HUB_ADMIN_PASSWORD may be left unset once the
// first start is done.
func EnsureAdmin(ctx context.Context, st Store, password string) (created bool, err error) {
	if password == "" {
		return false, nil
	}
	n, err := st.CountUsers(ctx)
	if err != nil {
		return false, fmt.Errorf("count users: %w", err)
	}
	if n > 0 {
		return false, nil
	}
	hash, err := HashPassword(password)
	if err != nil {
		return false, fmt.Errorf("admin password: %w", err)
	}
	if _, err := st.CreateUser(ctx, AdminUsername, RoleAdmin, hash); err != nil {
		if shouwang.ErrorCode(err) == shouwang.ECONFLICT {
			return false, nil // another hub process got there first
		}
		return false, fmt.Errorf("create admin: %w", err)
	}
	return true, nil
}
