// Package storetest is the one contract every store keeps: a conformance
// suite run against SQLite and PostgreSQL (hub/sqlstore) and against the
// in-memory fakes other packages' tests use (alerts/alertstest,
// accounts/accountstest, console/consoletest). SQLite is the reference: where
// a fake disagreed with it, the fake was mended.
//
// Each entry point takes a function that opens a fresh, empty store for one
// subtest. The store must also offer SetClock(func() time.Time), so the
// suite can pin "now".
package storetest

import (
	"context"
	"testing"

	"github.com/shouwang-hub/shouwang/accounts"
	"github.com/shouwang-hub/shouwang/alerts"
	"github.com/shouwang-hub/shouwang/devices"
	"github.com/shouwang-hub/shouwang/hub/sqlstore"
)

// Registry runs the contract of the device registry (devices.Registry).
func Registry(t *testing.T, open func(*testing.T) devices.Registry) {
	for _, tc := range []struct {
		name string
		run  func(*testing.T, func(*testing.T) devices.Registry)
	}{
		{"DeviceCRUD", testDeviceCRUD},
		{"DeviceErrors", testDeviceErrors},
		{"ImportDevicesAllOrNothing", testImportDevicesAllOrNothing},
		{"ListDevicesFilters", testListDevicesFilters},
		{"ListDevicesLimits", testListDevicesLimits},
		{"UpdateHealth", testUpdateHealth},
		{"Unregistered", testUnregistered},
		{"UnregisteredBounded", testUnregisteredBounded},
		{"UnregisteredOddText", testUnregisteredOddText},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.run(t, open) })
	}
}

// Accounts runs the contract of console accounts and tokens (accounts.Store).
func Accounts(t *testing.T, open func(*testing.T) accounts.Store) {
	for _, tc := range []struct {
		name string
		run  func(*testing.T, func(*testing.T) accounts.Store)
	}{
		{"Users", testUsers},
		{"Tokens", testTokens},
		{"TouchToken", testTouchToken},
		{"SetUserPasswordEndsTokens", testSetUserPasswordEndsTokens},
		{"SetUserDisabledEndsTokens", testSetUserDisabledEndsTokens},
		{"UserProfile", testUserProfile},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.run(t, open) })
	}
}

// AlertStore is an alerts.Store that also finds each device's latest
// uncleared alert of a kind (the hub's low-battery latch at start) and the
// unreturned members of open incidents (its supervision at start).
type AlertStore interface {
	alerts.Store
	UnclearedLatest(ctx context.Context, kind alerts.Kind) ([]*alerts.Alert, error)
	OpenMemberships(ctx context.Context) ([]alerts.IncidentMember, error)
}

// Alerts runs the contract of alerts, timelines, timers, notifications, triggers and the change feed (alerts.Store).
func Alerts(t *testing.T, open func(*testing.T) AlertStore) {
	for _, tc := range []struct {
		name string
		run  func(*testing.T, func(*testing.T) AlertStore)
	}{
		{"AlertRoundTrip", testAlertRoundTrip},
		{"UpdateAlertVersion", testUpdateAlertVersion},
		{"OpenAndLatestAlerts", testOpenAndLatestAlerts},
		{"UnclearedLatest", testUnclearedLatest},
		{"ConcurrentAcceptsOneWins", testConcurrentAcceptsOneWins},
		{"ListAlerts", testListAlerts},
		{"AnswerStats", testAnswerStats},
		{"Timers", testTimers},
		{"Notifications", testNotifications},
		{"ChangeFeed", testChangeFeed},
		{"FeedConcurrentCommitters", testFeedConcurrentCommitters},
		{"OneChangePerAlertPerTransaction", testOneChangePerAlertPerTransaction},
		{"RecordTrigger", testRecordTrigger},
		{"AlertCallReadPaths", testAlertCallReadPaths},
		{"AlertLoopRoundTrip", testAlertLoopRoundTrip},
		{"ListAlertsScope", testListAlertsScope},
		{"PeriodAlerts", testPeriodAlerts},
		{"Photos", testPhotos},
		{"IncidentRoundTrip", testIncidentRoundTrip},
		{"ScopeAlerts", testScopeAlerts},
		{"IncidentMembers", testIncidentMembers},
		{"CheckinActivity", testCheckinActivity},
		{"IncidentsThroughService", testIncidentsThroughService},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.run(t, open) })
	}
}

// SQL runs the contract of what only the SQL store offers: events, ingest transactions, the device index, pruning.
func SQL(t *testing.T, open func(*testing.T) *sqlstore.Store) {
	for _, tc := range []struct {
		name string
		run  func(*testing.T, func(*testing.T) *sqlstore.Store)
	}{
		{"RecordEventsDeduplicates", testRecordEventsDeduplicates},
		{"LoadDeviceIndex", testLoadDeviceIndex},
		{"AlertTxRollback", testAlertTxRollback},
		{"RecordEventsInTxWithAlert", testRecordEventsInTxWithAlert},
		{"PruneAlertFeed", testPruneAlertFeed},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.run(t, open) })
	}
}
