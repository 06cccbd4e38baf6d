package sqlstore_test

import (
	"context"
	"database/sql"
	"sync"
	"testing"

	"github.com/shouwang-hub/shouwang/hub/sqlstore"
	"github.com/shouwang-hub/shouwang/internal/testenv"
)

// TestPostgresHubsMigrateAtOnce opens four stores on one empty PostgreSQL
// database at the same moment, as hubs starting together would: the
// migrations run once, under the advisory lock, and every store opens on
// the same schema.
func TestPostgresHubsMigrateAtOnce(t *testing.T) {
	pg := testenv.Postgres(t)
	dsn := pg.Database(t, "") // empty: no template, nothing migrated yet
	const hubs = 4
	stores := make([]*sqlstore.Store, hubs)
	errs := make([]error, hubs)
	var wg sync.WaitGroup
	for i := range hubs {
		wg.Go(func() { stores[i], errs[i] = sqlstore.Open(dsn, nil) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("store %d: %v", i, err)
		}
		t.Cleanup(func() { stores[i].Close() })
	}
	want, err := stores[0].Tables(context.Background())
	if err != nil || len(want) == 0 {
		t.Fatalf("tables: %v, %v", want, err)
	}
	for i, s := range stores[1:] {
		if got, err := s.Tables(context.Background()); err != nil || len(got) != len(want) {
			t.Errorf("store %d sees tables %v (%v), want %v", i+1, got, err, want)
		}
		if s.Dialect() != "postgres" {
			t.Errorf("store %d: dialect %s", i+1, s.Dialect())
		}
	}
	// Each migration was applied once: goose's table holds one row per
	// version applied, each version once.
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var applied, versions int
	if err := db.QueryRow(`SELECT COUNT(*), COUNT(DISTINCT version_id) FROM goose_db_version WHERE version_id > 0`).Scan(&applied, &versions); err != nil {
		t.Fatal(err)
	}
	if applied != versions || versions < 4 {
		t.Errorf("goose recorded %d applications of %d versions: want each once (at least 4)", applied, versions)
	}
}
