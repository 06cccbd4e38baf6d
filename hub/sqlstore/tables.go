package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
)

// Tables lists the store's tables (not the migration runner's own), sorted:
// whatever the migrations made, so a copy between stores (hubctl migrate)
// and its check miss none.
func (s *Store) Tables(ctx context.Context) ([]string, error) {
	query := `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\_%' ESCAPE '\'`
	if s.dialect == dialectPostgres {
		query = `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'`
	}
	rows, err := s.db.r.QueryContext(ctx, query)
	if err != nil {
		return nil, fmt.Errorf("list tables: %w", err)
	}
	defer rows.Close()
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, fmt.Errorf("list tables: %w", err)
		}
		if n != "goose_db_version" {
			names = append(names, n)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list tables: %w", err)
	}
	slices.Sort(names)
	return names, nil
}

// Counts returns the number of rows in each of the store's tables, read in
// one snapshot.
func (s *Store) Counts(ctx context.Context) (map[string]int64, error) {
	names, err := s.Tables(ctx)
	if err != nil {
		return nil, err
	}
	counts := make(map[string]int64, len(names))
	err = s.readTx(ctx, func(tx *sql.Tx) error {
		for _, n := range names {
			var c int64
			// n comes from the catalogue, not from a caller.
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM `+quoteIdent(n)).Scan(&c); err != nil {
				return fmt.Errorf("%s: %w", n, err)
			}
			counts[n] = c
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("count rows: %w", err)
	}
	return counts, nil
}

// quoteIdent quotes a table or column name for either dialect.
func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }
