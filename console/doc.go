// Package console is the duty room's and installers' way into the hub: the
// HTTP JSON API under /api/v1 (login, devices and their CSV import, device
// telemetry history, alerts with their transitions and answer-time figures),
// the health, readiness and metrics endpoints, and the
// accounts and tokens that guard them.
//
// Scripts and hubctl authenticate with "Authorization: Bearer <token>";
// browser sessions (cookie and CSRF token) arrive with the web UI and plug in
// at Server.authenticate.
package console
