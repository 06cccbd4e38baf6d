package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/shouwang-hub/shouwang/devices"
)

// copyOrder is the order tables are copied in, parents before the tables
// whose foreign keys point at them; tables not named here (added by later
// migrations) follow in name order.
var copyOrder = []string{"devices", "unregistered", "users", "tokens", "events",
	"alerts", "alert_timeline", "alert_timers", "alert_notifications", "alert_changes", "alert_triggers"}

// CopyReport is what Copy moved, table by table, and what it checked.
type CopyReport struct {
	Tables  []string         // in the order copied
	Rows    map[string]int64 // rows copied per table
	Sampled map[string]int   // rows compared value by value per table
	Records int              // devices, accounts and alerts (with timelines) compared through the store's own reads
}

// Copy copies every row of every table of from into to, which must be
// empty and at the same schema version, in one transaction of to: it all
// arrives or none of it does. It reads from inside a write transaction of
// from, so nothing changes underneath it (a hub still writing makes it wait
// or fail; stop the hub first). Surrogate keys keep their values, and on
// PostgreSQL the identity sequences are moved past them. Then it checks
// that every table holds as many rows in to as in from and compares a
// sample of up to sample rows per table value by value, and sample
// devices (with their password hashes), accounts and alerts (with their
// timelines) through the store's own reads.
func Copy(ctx context.Context, from, to *Store, sample int) (*CopyReport, error) {
	tables, err := from.Tables(ctx)
	if err != nil {
		return nil, fmt.Errorf("copy: source: %w", err)
	}
	toTables, err := to.Tables(ctx)
	if err != nil {
		return nil, fmt.Errorf("copy: destination: %w", err)
	}
	if !slices.Equal(tables, toTables) {
		return nil, fmt.Errorf("copy: the stores' tables differ (%s against %s): open both with the same version", strings.Join(tables, ", "), strings.Join(toTables, ", "))
	}
	counts, err := to.Counts(ctx)
	if err != nil {
		return nil, fmt.Errorf("copy: destination: %w", err)
	}
	for _, t := range tables {
		if counts[t] > 0 {
			return nil, fmt.Errorf("copy: the destination is not empty (%s has %d rows): copy into a fresh database", t, counts[t])
		}
	}
	ordered := orderTables(tables)
	rep := &CopyReport{Tables: ordered, Rows: map[string]int64{}, Sampled: map[string]int{}}
	err = from.writeTx(ctx, func(src *sql.Tx) error {
		return to.writeTx(ctx, func(dst *sql.Tx) error {
			for _, t := range ordered {
				n, err := copyTable(ctx, src, dst, to.dialect, t)
				if err != nil {
					return fmt.Errorf("%s: %w", t, err)
				}
				rep.Rows[t] = n
			}
			if to.dialect == dialectPostgres {
				return resetIdentities(ctx, dst)
			}
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("copy: %w", err)
	}
	if err := verifyCopy(ctx, from, to, ordered, sample, rep); err != nil {
		return rep, fmt.Errorf("copy: check: %w", err)
	}
	return rep, nil
}

func orderTables(tables []string) []string {
	var out []string
	for _, t := range copyOrder {
		if slices.Contains(tables, t) {
			out = append(out, t)
		}
	}
	for _, t := range tables {
		if !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	return out
}

// copyTable streams table's rows from src into dst in multi-row INSERTs.
func copyTable(ctx context.Context, src, dst *sql.Tx, d dialect, table string) (int64, error) {
	rows, err := src.QueryContext(ctx, `SELECT * FROM `+quoteIdent(table))
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return 0, err
	}
	kinds, err := columnKinds(ctx, dst, d, table)
	if err != nil {
		return 0, err
	}
	quoted := make([]string, len(cols))
	for i, c := range cols {
		quoted[i] = quoteIdent(c)
	}
	// At most 500 rows, and fewer than PostgreSQL's 65,535 parameters.
	perInsert := min(500, 60000/len(cols))
	head := `INSERT INTO ` + quoteIdent(table) + ` (` + strings.Join(quoted, ", ") + `) VALUES `
	one := "(" + strings.TrimSuffix(strings.Repeat("?, ", len(cols)), ", ") + ")"
	var (
		args []any
		n    int64
	)
	flush := func() error {
		if len(args) == 0 {
			return nil
		}
		k := len(args) / len(cols)
		q := head + strings.TrimSuffix(strings.Repeat(one+", ", k), ", ")
		if _, err := dst.ExecContext(ctx, rebind(d, q), args...); err != nil {
			return err
		}
		args = args[:0]
		return nil
	}
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return n, err
		}
		for i, v := range vals {
			cv, err := convertValue(v, kinds[cols[i]])
			if err != nil {
				return n, fmt.Errorf("row %d, column %s: %w", n+1, cols[i], err)
			}
			args = append(args, cv)
		}
		n++
		if len(args) >= perInsert*len(cols) {
			if err := flush(); err != nil {
				return n, err
			}
		}
	}
	if err := rows.Err(); err != nil {
		return n, err
	}
	return n, flush()
}

// columnKinds returns a PostgreSQL table's column types ("boolean",
// "bigint", …); for SQLite, which takes any value, none.
func columnKinds(ctx context.Context, tx *sql.Tx, d dialect, table string) (map[string]string, error) {
	kinds := map[string]string{}
	if d != dialectPostgres {
		return kinds, nil
	}
	rows, err := tx.QueryContext(ctx, `SELECT column_name, data_type FROM information_schema.columns
		WHERE table_schema = current_schema() AND table_name = $1`, table)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var c, k string
		if err := rows.Scan(&c, &k); err != nil {
			return nil, err
		}
		kinds[c] = k
	}
	return kinds, rows.Err()
}

// convertValue turns a value read from one engine into what a column of
// kind takes in the other: SQLite keeps BOOLEAN as 0 and 1, and a REAL
// that happens to be whole may come back as an integer.
func convertValue(v any, kind string) (any, error) {
	switch x := v.(type) {
	case []byte:
		v = string(x)
	case int64:
		switch kind {
		case "boolean":
			if x != 0 && x != 1 {
				return nil, fmt.Errorf("%d is not a boolean", x)
			}
			return x == 1, nil
		case "double precision", "real", "numeric":
			return float64(x), nil
		}
	case float64:
		if (kind == "bigint" || kind == "integer") && x == math.Trunc(x) {
			return int64(x), nil
		}
	}
	return v, nil
}

// resetIdentities moves every identity column's sequence past the highest
// value copied, so the next row gets the next number.
func resetIdentities(ctx context.Context, tx *sql.Tx) error {
	rows, err := tx.QueryContext(ctx, `SELECT table_name, column_name FROM information_schema.columns
		WHERE table_schema = current_schema() AND is_identity = 'YES'`)
	if err != nil {
		return err
	}
	type col struct{ table, column string }
	var cols []col
	for rows.Next() {
		var c col
		if err := rows.Scan(&c.table, &c.column); err != nil {
			rows.Close()
			return err
		}
		cols = append(cols, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, c := range cols {
		q := fmt.Sprintf(`SELECT setval(pg_get_serial_sequence($1, $2), GREATEST(COALESCE(MAX(%s), 0), 1), COALESCE(MAX(%s), 0) > 0) FROM %s`,
			quoteIdent(c.column), quoteIdent(c.column), quoteIdent(c.table))
		if _, err := tx.ExecContext(ctx, q, quoteIdent(c.table), c.column); err != nil {
			return fmt.Errorf("reset the identity of %s.%s: %w", c.table, c.column, err)
		}
	}
	return nil
}

// verifyCopy checks the copy: equal row counts, a sample of rows equal
// value by value, and sample records equal through the store's reads.
func verifyCopy(ctx context.Context, from, to *Store, tables []string, sample int, rep *CopyReport) error {
	a, err := from.Counts(ctx)
	if err != nil {
		return err
	}
	b, err := to.Counts(ctx)
	if err != nil {
		return err
	}
	for _, t := range tables {
		if a[t] != b[t] || a[t] != rep.Rows[t] {
			return fmt.Errorf("%s: %d rows in the source, %d copied, %d in the destination", t, a[t], rep.Rows[t], b[t])
		}
	}
	if sample <= 0 {
		return nil
	}
	for _, t := range tables {
		n, err := compareSample(ctx, from, to, t, a[t], sample)
		if err != nil {
			return fmt.Errorf("%s: %w", t, err)
		}
		rep.Sampled[t] = n
	}
	n, err := compareRecords(ctx, from, to, sample)
	rep.Records = n
	return err
}

// compareSample reads every step-th row of table, ordered by its columns
// (keys come first in this schema), from both stores and compares them.
func compareSample(ctx context.Context, from, to *Store, table string, total int64, sample int) (int, error) {
	if total == 0 {
		return 0, nil
	}
	step := max(total/int64(sample), 1)
	read := func(s *Store) ([][]string, error) {
		rows, err := s.db.r.QueryContext(ctx, `SELECT * FROM `+quoteIdent(table))
		if err != nil {
			return nil, err
		}
		cols, err := rows.Columns()
		rows.Close()
		if err != nil {
			return nil, err
		}
		order := make([]string, len(cols))
		for i := range cols {
			order[i] = strconv.Itoa(i + 1)
		}
		rows, err = s.db.r.QueryContext(ctx, `SELECT * FROM `+quoteIdent(table)+` ORDER BY `+strings.Join(order, ", "))
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		var out [][]string
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		for i := int64(0); rows.Next(); i++ {
			if i%step != 0 {
				continue
			}
			if err := rows.Scan(ptrs...); err != nil {
				return nil, err
			}
			row := make([]string, len(vals))
			for j, v := range vals {
				row[j] = canonical(v)
			}
			out = append(out, row)
		}
		return out, rows.Err()
	}
	x, err := read(from)
	if err != nil {
		return 0, err
	}
	y, err := read(to)
	if err != nil {
		return 0, err
	}
	if len(x) != len(y) {
		return 0, fmt.Errorf("sampled %d rows from the source, %d from the destination", len(x), len(y))
	}
	for i := range x {
		if !slices.Equal(x[i], y[i]) {
			return 0, fmt.Errorf("row %d differs: %q in the source, %q in the destination", int64(i)*step+1, x[i], y[i])
		}
	}
	return len(x), nil
}

// canonical writes a value the same way whichever engine it came from.
func canonical(v any) string {
	switch x := v.(type) {
	case nil:
		return "NULL"
	case bool:
		if x {
			return "1"
		}
		return "0"
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	case []byte:
		return string(x)
	case string:
		return x
	}
	return fmt.Sprint(v)
}

// compareRecords reads up to sample devices, accounts and alerts through
// the store's own methods from both and compares them.
func compareRecords(ctx context.Context, from, to *Store, sample int) (int, error) {
	n := 0
	ds, _, err := from.ListDevices(ctx, devicesFilter(sample))
	if err != nil {
		return n, err
	}
	for _, d := range ds {
		e, err := to.FindDevice(ctx, d.ID)
		if err != nil {
			return n, fmt.Errorf("device %s: %w", d.ID, err)
		}
		ha, err1 := from.PasswordHash(ctx, d.ID)
		hb, err2 := to.PasswordHash(ctx, d.ID)
		if err := errors.Join(err1, err2); err != nil {
			return n, err
		}
		if !reflect.DeepEqual(d, e) || ha != hb {
			return n, fmt.Errorf("device %s differs after the copy", d.ID)
		}
		n++
	}
	us, err := from.ListUsers(ctx)
	if err != nil {
		return n, err
	}
	for _, u := range us[:min(len(us), sample)] {
		v, hv, err := to.UserByName(ctx, u.Username)
		if err != nil {
			return n, fmt.Errorf("user %s: %w", u.Username, err)
		}
		_, hu, err := from.UserByName(ctx, u.Username)
		if err != nil {
			return n, err
		}
		if !reflect.DeepEqual(u, v) || hu != hv {
			return n, fmt.Errorf("user %s differs after the copy", u.Username)
		}
		n++
	}
	var ids []int64
	rows, err := from.db.r.QueryContext(ctx, rebind(from.dialect, `SELECT id FROM alerts ORDER BY id DESC LIMIT ?`), sample)
	if err != nil {
		return n, err
	}
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return n, err
		}
		ids = append(ids, id)
	}
	rows.Close()
	for _, id := range ids {
		a, err1 := from.FindAlert(ctx, id)
		b, err2 := to.FindAlert(ctx, id)
		if err := errors.Join(err1, err2); err != nil {
			return n, err
		}
		if !reflect.DeepEqual(a, b) {
			return n, fmt.Errorf("alert %d differs after the copy", id)
		}
		n++
	}
	return n, nil
}

func devicesFilter(limit int) devices.Filter { return devices.Filter{Limit: limit} }
