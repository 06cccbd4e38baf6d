// Package alerts is the domain of alerts: what a duty room must act on.
// It holds the alert model (kinds, severities, the life-cycle state
// machine, the timeline), the rules that turn device messages into alerts,
// the escalation policy, device supervision, and the Service that applies
// all of it inside a store transaction given to it through the Tx
// interface.
//
// Time is always passed in, never read from the wall clock, so every rule,
// timer and hysteresis is tested instantly and exactly. The package imports
// the standard library and the devices domain only.
package alerts
