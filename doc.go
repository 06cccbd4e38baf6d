// Package shouwang is the root of the Shouwang hub: the error kernel every
// domain package shares (devices, alerts, accounts) and that the console
// maps to HTTP status in exactly one place. Everything else lives in the
// domain packages and the adapters under hub/.
package shouwang
