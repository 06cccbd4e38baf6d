package testenv_test

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/shouwang-hub/shouwang/internal/testenv"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

// psql runs a query through Debian's psql and returns its unaligned output.
func psql(t *testing.T, dsn, query string) string {
	t.Helper()
	bin := "psql"
	if _, err := exec.LookPath(bin); err != nil {
		bin = "/usr/bin/psql"
	}
	out, err := exec.Command(bin, "-X", "-A", "-t", "-d", dsn, "-c", query).CombinedOutput()
	if err != nil {
		t.Fatalf("psql %q: %v: %s", query, err, out)
	}
	return strings.TrimSpace(string(out))
}

// TestPostgres checks the shared server: relaxed durability, the C locale,
// a template copied into each test's database, and databases of their own.
func TestPostgres(t *testing.T) {
	pg := testenv.Postgres(t)
	if pg2 := testenv.Postgres(t); pg2 != pg {
		t.Fatal("a second Postgres call started a second server")
	}
	pg.Template(t, "tpl", func(dsn string) error {
		_, err := exec.Command("psql", "-X", "-q", "-d", dsn, "-c", "CREATE TABLE marks (n INT); INSERT INTO marks VALUES (7)").CombinedOutput()
		return err
	})
	pg.Template(t, "tpl", func(string) error { t.Fatal("the template was prepared twice"); return nil })
	a, b := pg.Database(t, "tpl"), pg.Database(t, "")
	if a == b {
		t.Fatalf("two tests' databases share a DSN: %s", a)
	}
	if got := psql(t, a, "SELECT n FROM marks"); got != "7" {
		t.Errorf("copy of the template holds %q, want 7", got)
	}
	psql(t, a, "INSERT INTO marks VALUES (8)")
	// Templates sort text as people read, unlike the C locale and SQLite.
	if got := psql(t, a, "SELECT 'a' < 'B', 'a' < 'B' COLLATE \"C\""); got != "t|f" {
		t.Errorf("template's collation: 'a' < 'B' gives %q, want t (ICU en-US) and f (C)", got)
	}
	if got := psql(t, b, "SELECT count(*) FROM pg_tables WHERE tablename = 'marks'"); got != "0" {
		t.Errorf("the empty database has the template's table")
	}
	for setting, want := range map[string]string{"fsync": "off", "synchronous_commit": "off",
		"full_page_writes": "off", "lc_collate": "C", "listen_addresses": "127.0.0.1"} {
		if got := psql(t, a, "SHOW "+setting); got != want {
			t.Errorf("%s = %q, want %q", setting, got, want)
		}
	}
}
