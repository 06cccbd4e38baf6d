package outbox

import (
	"errors"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/shouwang-hub/shouwang/devices"
)

// tableWindows reads telemetry_seq alone, without the log.
func tableWindows(t *testing.T, sp *Spool) map[string]devices.SeqWindow {
	t.Helper()
	logged, err := sp.loggedWindows(ctx(t), sp.db.r)
	if err != nil {
		t.Fatal(err)
	}
	all, err := sp.SeqWindows(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	rows, err := sp.db.r.QueryContext(ctx(t), `SELECT device_id FROM telemetry_seq`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]devices.SeqWindow{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		out[id] = all[id]
		if _, ok := logged[id]; ok {
			out[id] = devices.SeqWindow{} // shadowed by the log: not comparable
		}
	}
	return out
}

func logRecords(t *testing.T, sp *Spool) int {
	t.Helper()
	var n int
	if err := sp.db.r.QueryRowContext(ctx(t), `SELECT COUNT(*) FROM seq_log`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestWindowLogAndCheckpoints(t *testing.T) {
	path := filepath.Join(t.TempDir(), "spool.db")
	sp := openSpool(t, path)
	sp.wlog.every = 1 << 62 // no checkpoint by time

	// Commits between checkpoints add a log record each and leave the table.
	if err := sp.Append(ctx(t), lines(0, 2), map[string]devices.SeqWindow{"a": window(1), "b": window(1)}); err != nil {
		t.Fatal(err)
	}
	if err := sp.Append(ctx(t), lines(2, 1), map[string]devices.SeqWindow{"a": window(1, 2)}); err != nil {
		t.Fatal(err)
	}
	if n := logRecords(t, sp); n != 2 {
		t.Errorf("%d log records, want 2", n)
	}
	if tw := tableWindows(t, sp); len(tw) != 0 {
		t.Errorf("the table has %d windows before a checkpoint", len(tw))
	}
	want := map[string]devices.SeqWindow{"a": window(1, 2), "b": window(1)}
	if got, err := sp.SeqWindows(ctx(t)); err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("SeqWindows = %+v, %v; want the latest of each from the log", got, err)
	}

	// A checkpoint that fails to commit changes nothing, in memory or on disk.
	sp.wlog.every = 0
	sp.beforeCommit = func() error { return errors.New("boom") }
	if err := sp.Append(ctx(t), lines(3, 1), map[string]devices.SeqWindow{"c": window(5)}); err == nil {
		t.Fatal("Append succeeded despite the failure before commit")
	}
	sp.beforeCommit = nil
	if n, d := logRecords(t, sp), len(sp.wlog.dirty); n != 2 || d != 2 {
		t.Errorf("after a failed checkpoint: %d log records, %d dirty windows; want 2 and 2", n, d)
	}

	// The next commit checkpoints: the table gets every window, the log empties.
	if err := sp.Append(ctx(t), lines(3, 1), map[string]devices.SeqWindow{"c": window(5)}); err != nil {
		t.Fatal(err)
	}
	want["c"] = window(5)
	if n := logRecords(t, sp); n != 0 {
		t.Errorf("%d log records after a checkpoint", n)
	}
	if tw := tableWindows(t, sp); !reflect.DeepEqual(tw, want) {
		t.Errorf("table after the checkpoint = %+v, want %+v", tw, want)
	}
	if len(sp.wlog.dirty) != 0 || sp.wlog.bytes != 0 {
		t.Errorf("dirty %d, log bytes %d after a checkpoint", len(sp.wlog.dirty), sp.wlog.bytes)
	}

	// Log records left at a stop are folded into the table at the next open.
	sp.wlog.every = 1 << 62
	if err := sp.Append(ctx(t), lines(4, 1), map[string]devices.SeqWindow{"b": window(1, 3)}); err != nil {
		t.Fatal(err)
	}
	want["b"] = window(1, 3)
	if err := sp.Close(); err != nil {
		t.Fatal(err)
	}
	sp = openSpool(t, path)
	if n := logRecords(t, sp); n != 0 {
		t.Errorf("%d log records after reopening", n)
	}
	if got, err := sp.SeqWindows(ctx(t)); err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("reopened SeqWindows = %+v, %v; want %+v", got, err, want)
	}
}

func TestWindowLogCheckpointsBySize(t *testing.T) {
	sp := openSpool(t, filepath.Join(t.TempDir(), "spool.db"))
	sp.wlog.every = 1 << 62
	sp.wlog.maxBytes = 200 // about two windows
	for i := range 5 {
		if err := sp.Append(ctx(t), lines(i, 1), map[string]devices.SeqWindow{"a": window(uint64(i + 1))}); err != nil {
			t.Fatal(err)
		}
	}
	if n := logRecords(t, sp); n > 2 {
		t.Errorf("%d log records with a 200-byte limit", n)
	}
	if got, err := sp.SeqWindows(ctx(t)); err != nil || got["a"].Max != 5 {
		t.Errorf("SeqWindows = %+v, %v; want a's latest window (max 5)", got, err)
	}
}

func TestWindowLogEncoding(t *testing.T) {
	ws := map[string]devices.SeqWindow{"gas-1": window(1, 2, 300), "设备-2": window(7), "x": {}}
	got := map[string]devices.SeqWindow{"old": window(1)}
	if err := decodeWindows(encodeWindows(ws), got); err != nil {
		t.Fatal(err)
	}
	ws["old"] = window(1)
	if !reflect.DeepEqual(got, ws) {
		t.Errorf("round trip = %+v, want %+v", got, ws)
	}
	b := encodeWindows(map[string]devices.SeqWindow{"a": window(3)})
	for _, bad := range [][]byte{nil, {9}, b[:len(b)-1], append(append([]byte{}, b...), 0x05), {1, 0}} {
		if err := decodeWindows(bad, map[string]devices.SeqWindow{}); !errors.Is(err, errBadWindowLog) {
			t.Errorf("decodeWindows(%x) = %v, want errBadWindowLog", bad, err)
		}
	}
}

// FuzzDecodeWindows: a log blob read back from disk never panics, and what
// decodes re-encodes to the same windows.
func FuzzDecodeWindows(f *testing.F) {
	f.Add(encodeWindows(map[string]devices.SeqWindow{"a": window(1, 2), "b": window(9)}))
	f.Add([]byte{1})
	f.Add([]byte{1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})
	f.Fuzz(func(t *testing.T, b []byte) {
		got := map[string]devices.SeqWindow{}
		if err := decodeWindows(b, got); err != nil {
			return
		}
		again := map[string]devices.SeqWindow{}
		if err := decodeWindows(encodeWindows(got), again); err != nil || !reflect.DeepEqual(got, again) {
			t.Fatalf("re-encoded %+v decodes to %+v, %v", got, again, err)
		}
	})
}
