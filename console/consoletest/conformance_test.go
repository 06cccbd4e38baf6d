package consoletest_test

import (
	"testing"

	"github.com/shouwang-hub/shouwang/console/consoletest"
	"github.com/shouwang-hub/shouwang/devices"
	"github.com/shouwang-hub/shouwang/hub/sqlstore/storetest"
)

// TestConformance holds the fake registry to the contract the SQL stores
// keep.
func TestConformance(t *testing.T) {
	storetest.Registry(t, func(*testing.T) devices.Registry { return consoletest.NewRegistry() })
}
