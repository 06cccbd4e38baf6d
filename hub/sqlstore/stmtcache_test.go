package sqlstore

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/shouwang-hub/shouwang/alerts"
)

// TestStatementsPreparedOnce: on SQLite a write transaction's statement is
// run as before the first time, prepared after that commit, and used
// prepared by the next transactions; a statement built per call cannot
// grow the cache past its bound.
func TestStatementsPreparedOnce(t *testing.T) {
	s, err := Open(filepath.Join(t.TempDir(), "hub.db"), testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	mustCreate(t, s, device("gas-1", "c", "g", "b"))
	trigger := func(seq uint64) {
		t.Helper()
		err := s.Tx(ctx(t), func(tx *Tx) error {
			_, err := tx.RecordTrigger(ctx(t), "gas-1", seq, time.Now().UnixMilli())
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	trigger(1)
	s.stmts.mu.Lock()
	n := len(s.stmts.stmts)
	s.stmts.mu.Unlock()
	if n == 0 {
		t.Fatal("nothing prepared after the first transaction")
	}
	trigger(2)
	s.stmts.mu.Lock()
	if len(s.stmts.stmts) != n || len(s.stmts.wanted) != 0 {
		t.Errorf("the same statement again: %d prepared (was %d), %d wanted", len(s.stmts.stmts), n, len(s.stmts.wanted))
	}
	s.stmts.mu.Unlock()
	// The alert path end to end on prepared statements.
	err = s.InTx(ctx(t), func(tx alerts.Tx) error {
		_, err := tx.OpenAlerts(ctx(t), "gas-1")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2 * stmtCacheMax {
		s.stmts.lookup("SELECT " + string(rune('a'+i%26)) + " /* " + time.Duration(i).String() + " */")
	}
	s.stmts.mu.Lock()
	if got := len(s.stmts.stmts) + len(s.stmts.wanted); got > stmtCacheMax {
		t.Errorf("%d statements kept or wanted, past the bound %d", got, stmtCacheMax)
	}
	s.stmts.mu.Unlock()
}
