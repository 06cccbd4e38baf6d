package accountstest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"sync"
	"time"

	"github.com/shouwang-hub/shouwang"
	"github.com/shouwang-hub/shouwang/accounts"
)

// Accounts is an in-memory accounts.Store.
type Accounts struct {
	mu     sync.Mutex
	users  []*account
	tokens map[string]token // by hash
	// touches counts TouchToken calls.
	touches int
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
func NewAccounts() *Accounts { return &Accounts{tokens: make(map[string]token)} }

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

// CreateUser implements accounts.Store.
func (a *Accounts) CreateUser(_ context.Context, username string, role accounts.Role, hash string) (*accounts.User, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, acc := range a.users {
		if acc.user.Username == username {
			return nil, shouwang.Errorf(shouwang.ECONFLICT, "user %q exists", username)
		}
	}
	acc := &account{user: accounts.User{ID: int64(len(a.users) + 1), Username: username, Role: role, CreatedAt: time.Now().UTC()}, hash: hash}
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

// CreateToken implements accounts.Store.
func (a *Accounts) CreateToken(_ context.Context, userID int64, kind accounts.TokenKind, name, hash string, expires time.Time) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, ok := a.tokens[hash]; ok {
		return shouwang.Errorf(shouwang.ECONFLICT, "token exists")
	}
	a.tokens[hash] = token{userID: userID, kind: kind, name: name, expires: expires}
	return nil
}

// UserByToken implements accounts.Store.
func (a *Accounts) UserByToken(_ context.Context, hash string, now time.Time) (*accounts.User, accounts.TokenKind, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	t, ok := a.tokens[hash]
	if !ok || !now.Before(t.expires) {
		return nil, "", shouwang.Errorf(shouwang.ENOTFOUND, "token not found")
	}
	acc, ok := a.find(func(acc *account) bool { return acc.user.ID == t.userID })
	if !ok || acc.user.Disabled {
		return nil, "", shouwang.Errorf(shouwang.ENOTFOUND, "token not found")
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
	if !ok || !now.Before(t.expires) {
		return shouwang.Errorf(shouwang.ENOTFOUND, "token not found")
	}
	if t.expires.Before(expires) {
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
