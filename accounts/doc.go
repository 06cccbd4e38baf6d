// Package accounts is the domain of the people who use the console and the
// API: users and their roles, token kinds (browser sessions and API tokens),
// the store interface that keeps them, the rules a new username or password
// must meet, password hashing (argon2id) and the bootstrap of the first admin
// account. The HTTP console, the SQL store and hubctl all build on it, so none
// of them needs another.
//
// It imports the standard library, the error kernel and golang.org/x/crypto's
// argon2 (the one password hash OWASP recommends that the standard library
// lacks).
package accounts
