package alertstest_test

import (
	"testing"

	"github.com/shouwang-hub/shouwang/alerts/alertstest"
	"github.com/shouwang-hub/shouwang/hub/sqlstore/storetest"
)

// TestConformance holds the fake to the contract the SQL stores keep.
func TestConformance(t *testing.T) {
	storetest.Alerts(t, func(*testing.T) storetest.AlertStore { return alertstest.New() })
	storetest.Checkins(t, func(*testing.T) storetest.CheckinStore { return alertstest.New() })
}
