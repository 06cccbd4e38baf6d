package accountstest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"sync"
	"time"

	"github.com/shouwang-hub/shouwang"
	"github.com/shouwang-hub/shouwang/accounts"
)

// Accounts is an in-memory accounts.Store.
type Accounts struct {
	mu     sync.Mutex
	now    func() time.Time
	users  []*account
	tokens map[string]token // by hash
	// touches counts TouchToken calls.
	touches int
	lastID  int64
}

type account struct {
	user accounts.User
	hash string
}

type token struct {
	userID  int64
	kind    accounts.TokenKind
	name    string
	expires time.Time
}

var _ accounts.Store = (*Accounts)(nil)

// NewAccounts returns a store with no accounts.
func NewAccounts() *Accounts { return &Accounts{now: time.Now, tokens: make(map[string]token)} }

// SetClock replaces the clock read for creation times and the sweep of
// expired tokens; nil is the wall clock.
func (a *Accounts) SetClock(now func() time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if now == nil {
		now = time.Now
	}
	a.now = now
}

// DeleteUser removes an account and its tokens, as the SQL store's does.
func (a *Accounts) DeleteUser(_ context.Context, id int64) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	for i, acc := range a.users {
		if acc.user.ID == id {
			a.users = append(a.users[:i], a.users[i+1:]...)
			a.endTokens(id, "")
			return nil
		}
	}
	return shouwang.Errorf(shouwang.ENOTFOUND, "user %d not found", id)
}

// AddUser creates an account with the given password, for test setup.
func (a *Accounts) AddUser(username string, role accounts.Role, password string) *accounts.User {
	hash, err := accounts.HashPassword(password)
	if err != nil {
		panic("consoletest: " + err.Error())
	}
	u, err := a.CreateUser(context.Background(), username, role, hash)
	if err != nil {
		panic("consoletest: " + err.Error())
	}
	return u
}

// AddToken gives a user a token valid for a day, without logging in (which
// costs a password hash), and returns it.
func (a *Accounts) AddToken(userID int64, tok string) string {
	if err := a.CreateToken(context.Background(), userID, accounts.TokenAPI, "test", TokenHash(tok), time.Now().Add(24*time.Hour)); err != nil {
		panic("consoletest: " + err.Error())
	}
	return tok
}

// TokenHash is how the console names a token to the store: SHA-256, hex.
func TokenHash(tok string) string {
	sum := sha256.Sum256([]byte(tok))
	return hex.EncodeToString(sum[:])
}

// Tokens returns the number of tokens stored.
func (a *Accounts) Tokens() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.tokens)
}

// CreateUser implements accounts.Store, refusing what the SQL store
// refuses.
func (a *Accounts) CreateUser(_ context.Context, username string, role accounts.Role, hash string) (*accounts.User, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	switch {
	case username == "":
		return nil, shouwang.Errorf(shouwang.EINVALID, "username: required")
	case !role.Valid():
		return nil, shouwang.Errorf(shouwang.EINVALID, "role %q: must be operator, supervisor, installer, admin or gridworker", role)
	case hash == "":
		return nil, shouwang.Errorf(shouwang.EINVALID, "user %q: empty password hash", username)
	}
	for _, acc := range a.users {
		if acc.user.Username == username {
			return nil, shouwang.Errorf(shouwang.ECONFLICT, "user %q already exists", username)
		}
	}
	a.lastID++
	acc := &account{user: accounts.User{ID: a.lastID, Username: username, Role: role, CreatedAt: a.now().Truncate(time.Millisecond).UTC()}, hash: hash}
	a.users = append(a.users, acc)
	u := acc.user
	return &u, nil
}

func (a *Accounts) find(match func(*account) bool) (*account, bool) {
	for _, acc := range a.users {
		if match(acc) {
			return acc, true
		}
	}
	return nil, false
}

// UserByName implements accounts.Store.
func (a *Accounts) UserByName(_ context.Context, username string) (*accounts.User, string, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	acc, ok := a.find(func(acc *account) bool { return acc.user.Username == username })
	if !ok {
		return nil, "", shouwang.Errorf(shouwang.ENOTFOUND, "user %q not found", username)
	}
	u := acc.user
	return &u, acc.hash, nil
}

// UserByID implements accounts.Store.
func (a *Accounts) UserByID(_ context.Context, id int64) (*accounts.User, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	acc, ok := a.find(func(acc *account) bool { return acc.user.ID == id })
	if !ok {
		return nil, shouwang.Errorf(shouwang.ENOTFOUND, "user %d not found", id)
	}
	u := acc.user
	return &u, nil
}

// ListUsers implements accounts.Store.
func (a *Accounts) ListUsers(context.Context) ([]*accounts.User, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	us := make([]*accounts.User, len(a.users))
	for i, acc := range a.users {
		u := acc.user
		us[i] = &u
	}
	return us, nil
}

// SetUserPassword implements accounts.Store: like the SQL store, it
// ends the user's tokens but keepTokenHash under the same lock.
func (a *Accounts) SetUserPassword(_ context.Context, id int64, hash, keepTokenHash string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if hash == "" {
		return shouwang.Errorf(shouwang.EINVALID, "user %d: empty password hash", id)
	}
	acc, ok := a.find(func(acc *account) bool { return acc.user.ID == id })
	if !ok {
		return shouwang.Errorf(shouwang.ENOTFOUND, "user %d not found", id)
	}
	acc.hash = hash
	a.endTokens(id, keepTokenHash)
	return nil
}

// endTokens deletes every token of user id but keep; a.mu is held.
func (a *Accounts) endTokens(id int64, keep string) {
	for h, t := range a.tokens {
		if t.userID == id && h != keep {
			delete(a.tokens, h)
		}
	}
}

// CountUsers implements accounts.Store.
func (a *Accounts) CountUsers(context.Context) (int, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.users), nil
}

// CreateToken implements accounts.Store: a zero expires never expires, and
// expired tokens of every user are swept on the way.
func (a *Accounts) CreateToken(_ context.Context, userID int64, kind accounts.TokenKind, name, hash string, expires time.Time) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	switch {
	case kind != accounts.TokenAPI && kind != accounts.TokenSession:
		return shouwang.Errorf(shouwang.EINVALID, "token kind %q: must be api or session", kind)
	case hash == "":
		return shouwang.Errorf(shouwang.EINVALID, "token: empty hash")
	}
	if _, ok := a.find(func(acc *account) bool { return acc.user.ID == userID }); !ok {
		return shouwang.Errorf(shouwang.ENOTFOUND, "user %d not found", userID)
	}
	now := a.now()
	for h, t := range a.tokens {
		if !t.live(now) {
			delete(a.tokens, h)
		}
	}
	if _, ok := a.tokens[hash]; ok {
		return shouwang.Errorf(shouwang.ECONFLICT, "token already exists")
	}
	a.tokens[hash] = token{userID: userID, kind: kind, name: name, expires: expires.Truncate(time.Millisecond)}
	return nil
}

// live reports whether the token works at now: it has no expiry, or one
// after now.
func (t token) live(now time.Time) bool { return t.expires.IsZero() || now.Before(t.expires) }

// UserByToken implements accounts.Store.
func (a *Accounts) UserByToken(_ context.Context, hash string, now time.Time) (*accounts.User, accounts.TokenKind, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	t, ok := a.tokens[hash]
	if !ok || !t.live(now) {
		return nil, "", shouwang.Errorf(shouwang.ENOTFOUND, "token not found or expired")
	}
	acc, ok := a.find(func(acc *account) bool { return acc.user.ID == t.userID })
	if !ok || acc.user.Disabled {
		return nil, "", shouwang.Errorf(shouwang.ENOTFOUND, "token not found or expired")
	}
	u := acc.user
	return &u, t.kind, nil
}

// DeleteToken implements accounts.Store.
func (a *Accounts) DeleteToken(_ context.Context, hash string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, ok := a.tokens[hash]; !ok {
		return shouwang.Errorf(shouwang.ENOTFOUND, "token not found")
	}
	delete(a.tokens, hash)
	return nil
}

// TouchToken implements accounts.Store.
func (a *Accounts) TouchToken(_ context.Context, hash string, now, expires time.Time) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.touches++
	t, ok := a.tokens[hash]
	if !ok || !t.live(now) {
		return shouwang.Errorf(shouwang.ENOTFOUND, "token not found or expired")
	}
	if !t.expires.IsZero() && t.expires.Before(expires) {
		t.expires = expires
		a.tokens[hash] = t
	}
	return nil
}

// SetUserDisabled implements accounts.Store: like the SQL store,
// disabling ends all the user's tokens.
func (a *Accounts) SetUserDisabled(_ context.Context, id int64, disabled bool) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	acc, ok := a.find(func(acc *account) bool { return acc.user.ID == id })
	if !ok {
		return shouwang.Errorf(shouwang.ENOTFOUND, "user %d not found", id)
	}
	acc.user.Disabled = disabled
	if disabled {
		a.endTokens(id, "")
	}
	return nil
}

// SetUserProfile implements accounts.Store.
func (a *Accounts) SetUserProfile(_ context.Context, id int64, p accounts.Profile) error {
	if err := p.Validate(); err != nil {
		return err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	acc, ok := a.find(func(acc *account) bool { return acc.user.ID == id })
	if !ok {
		return shouwang.Errorf(shouwang.ENOTFOUND, "user %d not found", id)
	}
	acc.user.Profile = accounts.Profile{Phone: p.Phone, Grids: slices.Clone(p.Grids)}
	return nil
}

// Touches returns the number of TouchToken calls so far.
func (a *Accounts) Touches() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.touches
}

// TokenInfo returns the kind and expiry of the token stored under hash.
func (a *Accounts) TokenInfo(hash string) (kind accounts.TokenKind, expires time.Time, ok bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	t, ok := a.tokens[hash]
	return t.kind, t.expires, ok
}
