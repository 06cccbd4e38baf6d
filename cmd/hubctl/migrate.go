package main

import (
	"cmp"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/shouwang-hub/shouwang/hub/sqlstore"
)

// migrateStore copies a stopped hub's SQLite store into an empty
// PostgreSQL database and checks the copy (sqlstore.Copy): the move of an
// installation from one machine's file to a shared database.
func (c *cli) migrateStore(args []string) error {
	fs := c.newFlags("migrate", "migrate [-data DIR] [-from PATH] -to postgres://… [-sample N]")
	dataDir := fs.String("data", envOr("HUB_DATA_DIR", "./data"), "the hub's data directory (default $HUB_DATA_DIR or ./data)")
	from := fs.String("from", "", "the SQLite store to copy (default DIR/hub.db)")
	to := fs.String("to", "", "the PostgreSQL database to copy into: postgres://user:password@host:5432/database (it must exist and be empty)")
	sample := fs.Int("sample", 50, "rows per table, and devices, accounts and alerts, compared after the copy")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	src := cmp.Or(*from, filepath.Join(*dataDir, "hub.db"))
	switch l := strings.ToLower(*to); {
	case *to == "":
		return usagef("migrate: -to postgres://… is required")
	case !strings.HasPrefix(l, "postgres://") && !strings.HasPrefix(l, "postgresql://"):
		return usagef("migrate: -to must be a postgres:// URL")
	case *sample < 0:
		return usagef("migrate: -sample must not be negative")
	}
	if _, err := os.Stat(src); err != nil {
		return fmt.Errorf("migrate: the SQLite store %s: %w", src, err)
	}
	fromStore, err := sqlstore.Open(src, nil)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer fromStore.Close()
	toStore, err := sqlstore.Open(*to, nil)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer toStore.Close()
	fmt.Fprintf(c.stdout, "Copying %s into %s …\n", src, redacted(*to))
	rep, err := sqlstore.Copy(c.ctx, fromStore, toStore, *sample)
	if rep != nil {
		for _, t := range rep.Tables {
			fmt.Fprintf(c.stdout, "  %-22s %8d rows copied, %4d compared\n", t, rep.Rows[t], rep.Sampled[t])
		}
	}
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	fmt.Fprintf(c.stdout, "Checked: every table's row count, and %d devices, accounts and alerts read back alike.\n", rep.Records)
	fmt.Fprintf(c.stdout, "Start the hub with -db (HUB_DB) set to the PostgreSQL URL. Keep %s until you are satisfied.\n", src)
	return nil
}

// redacted is a store's name without a password: a PostgreSQL URL's is
// cut out, a file path is as it is.
func redacted(dsn string) string {
	if l := strings.ToLower(dsn); !strings.HasPrefix(l, "postgres://") && !strings.HasPrefix(l, "postgresql://") {
		return dsn
	}
	u, err := url.Parse(dsn)
	if err != nil {
		return "postgres://…"
	}
	return u.Redacted()
}
