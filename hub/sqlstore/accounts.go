package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/shouwang-hub/shouwang"
	"github.com/shouwang-hub/shouwang/accounts"
)

// tokenTouchEvery is how stale a token's last_used_at may get before
// UserByToken writes it again, so that authenticating a request is not a
// write every time.
const tokenTouchEvery = time.Minute

const userCols = `id, username, role, created_at, disabled, phone, grids`

func scanUser(row scanner, extra ...any) (*accounts.User, error) {
	var (
		u       accounts.User
		role    string
		grids   string
		created sql.NullInt64
	)
	if err := row.Scan(append([]any{&u.ID, &u.Username, &role, &created, &u.Disabled, &u.Phone, &grids}, extra...)...); err != nil {
		return nil, err
	}
	u.Role, u.CreatedAt = accounts.Role(role), fromMillis(created)
	if grids != "" && grids != "[]" {
		if err := json.Unmarshal([]byte(grids), &u.Grids); err != nil {
			return nil, fmt.Errorf("user %d: decode grids: %w", u.ID, err)
		}
	}
	return &u, nil
}

func userNotFound(format string, args ...any) error {
	return shouwang.Errorf(shouwang.ENOTFOUND, format, args...)
}

// CreateUser adds a console account. A taken username is ECONFLICT.
func (s *Store) CreateUser(ctx context.Context, username string, role accounts.Role, passwordHash string) (*accounts.User, error) {
	switch {
	case username == "":
		return nil, shouwang.Errorf(shouwang.EINVALID, "username: required")
	case !role.Valid():
		return nil, shouwang.Errorf(shouwang.EINVALID, "role %q: must be operator, supervisor, installer, admin or gridworker", role)
	case passwordHash == "":
		return nil, shouwang.Errorf(shouwang.EINVALID, "user %q: empty password hash", username)
	}
	now := s.nowMillis()
	var id int64
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		return tx.QueryRowContext(ctx, s.q(`INSERT INTO users (username, role, password_hash, created_at, disabled)
			VALUES (?, ?, ?, ?, FALSE) ON CONFLICT (username) DO NOTHING RETURNING id`),
			username, string(role), passwordHash, now).Scan(&id)
	})
	if errors.Is(err, sql.ErrNoRows) {
		return nil, shouwang.Errorf(shouwang.ECONFLICT, "user %q already exists", username)
	} else if err != nil {
		return nil, fmt.Errorf("create user: %w", err)
	}
	return &accounts.User{ID: id, Username: username, Role: role, CreatedAt: fromMillis(sql.NullInt64{Int64: now, Valid: true})}, nil
}

// UserByName returns the user and its password hash, for login.
func (s *Store) UserByName(ctx context.Context, username string) (*accounts.User, string, error) {
	var hash string
	u, err := scanUser(s.db.r.QueryRowContext(ctx, s.q(`SELECT `+userCols+`, password_hash FROM users WHERE username = ?`), username), &hash)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, "", userNotFound("user %q not found", username)
	} else if err != nil {
		return nil, "", fmt.Errorf("user by name: %w", err)
	}
	return u, hash, nil
}

// UserByID returns one user.
func (s *Store) UserByID(ctx context.Context, id int64) (*accounts.User, error) {
	u, err := scanUser(s.db.r.QueryRowContext(ctx, s.q(`SELECT `+userCols+` FROM users WHERE id = ?`), id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, userNotFound("user %d not found", id)
	} else if err != nil {
		return nil, fmt.Errorf("user by id: %w", err)
	}
	return u, nil
}

// ListUsers returns every user, ordered by username.
func (s *Store) ListUsers(ctx context.Context) ([]*accounts.User, error) {
	rows, err := s.db.r.QueryContext(ctx, `SELECT `+userCols+` FROM users ORDER BY username`)
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	defer rows.Close()
	var list []*accounts.User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("list users: %w", err)
		}
		list = append(list, u)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	return list, nil
}

// SetUserPassword replaces a user's password hash and, in the same
// transaction, deletes every token of that user except keepTokenHash (the
// session a user changes their own password from; "" keeps none). So there
// is no moment at which the new password is set and a session or API token
// from before still works.
func (s *Store) SetUserPassword(ctx context.Context, id int64, passwordHash, keepTokenHash string) error {
	if passwordHash == "" {
		return shouwang.Errorf(shouwang.EINVALID, "user %d: empty password hash", id)
	}
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.q(`UPDATE users SET password_hash = ? WHERE id = ?`), passwordHash, id)
		if err != nil {
			return err
		}
		if err := mustAffect(res, userNotFound("user %d not found", id)); err != nil {
			return err
		}
		return s.endTokens(ctx, tx, id, keepTokenHash)
	})
	if err != nil {
		return fmt.Errorf("set user password: %w", err)
	}
	return nil
}

// SetUserDisabled disables or enables an account. Disabling also deletes
// all the account's tokens in the same transaction, so that enabling it
// again does not bring back a session or token stolen before: its user
// logs in afresh.
func (s *Store) SetUserDisabled(ctx context.Context, id int64, disabled bool) error {
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.q(`UPDATE users SET disabled = ? WHERE id = ?`), disabled, id)
		if err != nil {
			return err
		}
		if err := mustAffect(res, userNotFound("user %d not found", id)); err != nil {
			return err
		}
		if !disabled {
			return nil
		}
		return s.endTokens(ctx, tx, id, "")
	})
	if err != nil {
		return fmt.Errorf("set user disabled: %w", err)
	}
	return nil
}

// endTokens deletes every token of user id but keepTokenHash ("" for none).
// Token hashes are never empty, so "" matches no token.
func (s *Store) endTokens(ctx context.Context, tx *sql.Tx, id int64, keepTokenHash string) error {
	_, err := tx.ExecContext(ctx, s.q(`DELETE FROM tokens WHERE user_id = ? AND token_hash <> ?`), id, keepTokenHash)
	return err
}

// DeleteUser removes an account and, by cascade, all its tokens.
func (s *Store) DeleteUser(ctx context.Context, id int64) error {
	res, err := s.exec(ctx, `DELETE FROM users WHERE id = ?`, id)
	if err != nil {
		return fmt.Errorf("delete user: %w", err)
	}
	return mustAffect(res, userNotFound("user %d not found", id))
}

// CountUsers returns the number of accounts (to bootstrap the first admin).
func (s *Store) CountUsers(ctx context.Context) (int, error) {
	var n int
	if err := s.db.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM users`).Scan(&n); err != nil {
		return 0, fmt.Errorf("count users: %w", err)
	}
	return n, nil
}

// CreateToken stores the hash of a new token for a user. A zero expires
// means the token never expires. Expired tokens of every user are deleted
// on the way.
func (s *Store) CreateToken(ctx context.Context, userID int64, kind accounts.TokenKind, name, tokenHash string, expires time.Time) error {
	switch {
	case kind != accounts.TokenAPI && kind != accounts.TokenSession:
		return shouwang.Errorf(shouwang.EINVALID, "token kind %q: must be api or session", kind)
	case tokenHash == "":
		return shouwang.Errorf(shouwang.EINVALID, "token: empty hash")
	}
	now := s.nowMillis()
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		var one int
		err := tx.QueryRowContext(ctx, s.q(`SELECT 1 FROM users WHERE id = ?`), userID).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return userNotFound("user %d not found", userID)
		} else if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM tokens WHERE expires_at <= ?`), now); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, s.q(`INSERT INTO tokens (token_hash, user_id, kind, name, created_at, expires_at)
			VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (token_hash) DO NOTHING`),
			tokenHash, userID, string(kind), name, now, millis(expires))
		if err != nil {
			return err
		}
		return mustAffect(res, shouwang.Errorf(shouwang.ECONFLICT, "token already exists"))
	})
	if err != nil {
		return fmt.Errorf("create token: %w", err)
	}
	return nil
}

// UserByToken returns the user of a live token: one that exists, has not
// expired by now and whose user is not disabled. Anything else is
// ENOTFOUND. It records when the token was last used, to the minute.
func (s *Store) UserByToken(ctx context.Context, tokenHash string, now time.Time) (*accounts.User, accounts.TokenKind, error) {
	var (
		kind     string
		lastUsed sql.NullInt64
	)
	ms := now.UnixMilli()
	u, err := scanUser(s.db.r.QueryRowContext(ctx, s.q(`SELECT u.id, u.username, u.role, u.created_at, u.disabled, u.phone, u.grids, t.kind, t.last_used_at
		FROM tokens t JOIN users u ON u.id = t.user_id
		WHERE t.token_hash = ? AND (t.expires_at IS NULL OR t.expires_at > ?) AND u.disabled = FALSE`), tokenHash, ms),
		&kind, &lastUsed)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, "", userNotFound("token not found or expired")
	} else if err != nil {
		return nil, "", fmt.Errorf("user by token: %w", err)
	}
	if !lastUsed.Valid || ms-lastUsed.Int64 >= tokenTouchEvery.Milliseconds() {
		if _, err := s.exec(ctx, `UPDATE tokens SET last_used_at = ? WHERE token_hash = ?`, ms, tokenHash); err != nil {
			s.logger.Warn("record token use", "err", err)
		}
	}
	return u, accounts.TokenKind(kind), nil
}

// TouchToken moves the expiry of a token live at now forward to expires,
// for sliding browser sessions. It never shortens an expiry, nor gives one
// to a token that has none. ENOTFOUND if there is no live token.
func (s *Store) TouchToken(ctx context.Context, tokenHash string, now, expires time.Time) error {
	exp := expires.UnixMilli()
	res, err := s.exec(ctx, `UPDATE tokens
		SET expires_at = CASE WHEN expires_at < ? THEN ? ELSE expires_at END
		WHERE token_hash = ? AND (expires_at IS NULL OR expires_at > ?)`, exp, exp, tokenHash, now.UnixMilli())
	if err != nil {
		return fmt.Errorf("touch token: %w", err)
	}
	return mustAffect(res, userNotFound("token not found or expired"))
}

// DeleteToken removes a token (logout, revocation). ENOTFOUND if there was
// none.
func (s *Store) DeleteToken(ctx context.Context, tokenHash string) error {
	res, err := s.exec(ctx, `DELETE FROM tokens WHERE token_hash = ?`, tokenHash)
	if err != nil {
		return fmt.Errorf("delete token: %w", err)
	}
	return mustAffect(res, userNotFound("token not found"))
}

// SetUserProfile replaces a user's phone and grids.
func (s *Store) SetUserProfile(ctx context.Context, id int64, p accounts.Profile) error {
	if err := p.Validate(); err != nil {
		return err
	}
	grids := "[]"
	if len(p.Grids) > 0 {
		b, err := json.Marshal(p.Grids)
		if err != nil {
			return fmt.Errorf("set user profile: %w", err)
		}
		grids = string(b)
	}
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.q(`UPDATE users SET phone = ?, grids = ? WHERE id = ?`), p.Phone, grids, id)
		if err != nil {
			return err
		}
		return mustAffect(res, userNotFound("user %d not found", id))
	})
	if err != nil {
		return fmt.Errorf("set user profile: %w", err)
	}
	return nil
}
