package sqlstore_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/shouwang-hub/shouwang/accounts"
	"github.com/shouwang-hub/shouwang/devices"
	"github.com/shouwang-hub/shouwang/hub/sqlstore"
	"github.com/shouwang-hub/shouwang/hub/sqlstore/storetest"
	"github.com/shouwang-hub/shouwang/internal/testenv"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

// openSQLite opens a store in a fresh SQLite file for one test.
func openSQLite(t *testing.T) *sqlstore.Store {
	t.Helper()
	return closing(t, filepath.Join(t.TempDir(), "hub.db"))
}

// openPostgres opens a store in a fresh PostgreSQL database for one test,
// a copy of one migrated once per test binary.
func openPostgres(t *testing.T) *sqlstore.Store {
	t.Helper()
	pg := testenv.Postgres(t)
	pg.Template(t, "store", func(dsn string) error {
		s, err := sqlstore.Open(dsn, nil)
		if err != nil {
			return err
		}
		return s.Close()
	})
	return closing(t, pg.Database(t, "store"))
}

func closing(t *testing.T, dsn string) *sqlstore.Store {
	t.Helper()
	s, err := sqlstore.Open(dsn, nil)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// TestConformance runs the one store contract on SQLite, the reference,
// and on PostgreSQL.
func TestConformance(t *testing.T) {
	for _, tc := range []struct {
		name string
		open func(*testing.T) *sqlstore.Store
	}{{"sqlite", openSQLite}, {"postgres", openPostgres}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Run("Registry", func(t *testing.T) {
				storetest.Registry(t, func(t *testing.T) devices.Registry { return tc.open(t) })
			})
			t.Run("Accounts", func(t *testing.T) {
				storetest.Accounts(t, func(t *testing.T) accounts.Store { return tc.open(t) })
			})
			t.Run("Alerts", func(t *testing.T) {
				storetest.Alerts(t, func(t *testing.T) storetest.AlertStore { return tc.open(t) })
			})
			t.Run("SQL", func(t *testing.T) { storetest.SQL(t, tc.open) })
			t.Run("Vendor", func(t *testing.T) { storetest.Vendor(t, tc.open) })
			t.Run("Checkins", func(t *testing.T) {
				storetest.Checkins(t, func(t *testing.T) storetest.CheckinStore { return tc.open(t) })
			})
		})
	}
}
