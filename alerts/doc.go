// Package alerts is the domain of alerts: kinds, severities, the life-cycle
// state machine, rules and escalation policy, and the store interface. It
// imports the standard library and the devices domain only.
package alerts
