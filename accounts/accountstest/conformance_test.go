package accountstest_test

import (
	"testing"

	"github.com/shouwang-hub/shouwang/accounts"
	"github.com/shouwang-hub/shouwang/accounts/accountstest"
	"github.com/shouwang-hub/shouwang/hub/sqlstore/storetest"
)

// TestConformance holds the fake to the contract the SQL stores keep.
func TestConformance(t *testing.T) {
	storetest.Accounts(t, func(*testing.T) accounts.Store { return accountstest.NewAccounts() })
}
