package outbox

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shouwang-hub/shouwang/devices"
)

func ctx(t *testing.T) context.Context { return t.Context() }

func openSpool(t testing.TB, path string) *Spool {
	t.Helper()
	sp, err := Open(path, nil)
	if err != nil {
		t.Fatalf("OpenSpool: %v", err)
	}
	t.Cleanup(func() { sp.Close() })
	return sp
}

func lines(from, n int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		out[i] = fmt.Appendf(nil, "air,device=a%d pm25=%di %d", from+i, from+i, 1700000000000+from+i)
	}
	return out
}

func size(ls [][]byte) int64 {
	var n int64
	for _, l := range ls {
		n += int64(len(l))
	}
	return n
}

func window(seqs ...uint64) devices.SeqWindow {
	var w devices.SeqWindow
	for _, s := range seqs {
		w.Accept(s, int64(1700000000000+s))
	}
	return w
}

func TestSpoolOrder(t *testing.T) {
	sp := openSpool(t, filepath.Join(t.TempDir(), "spool.db"))
	if id, ls, err := sp.Peek(ctx(t), 10); err != nil || id != 0 || len(ls) != 0 {
		t.Fatalf("Peek on empty spool = %d, %d lines, %v", id, len(ls), err)
	}
	a, b := lines(0, 3), lines(3, 4)
	if err := sp.Append(ctx(t), a, nil); err != nil {
		t.Fatal(err)
	}
	if err := sp.Append(ctx(t), b, nil); err != nil {
		t.Fatal(err)
	}
	if sp.Depth() != 7 || sp.Bytes() != size(a)+size(b) {
		t.Errorf("Depth %d Bytes %d, want 7 and %d", sp.Depth(), sp.Bytes(), size(a)+size(b))
	}

	// Peek returns whole Appends while they fit in its limit...
	id1, got, err := sp.Peek(ctx(t), 5)
	if err != nil || !reflect.DeepEqual(got, a) {
		t.Fatalf("Peek(5) = %q, %v; want the first Append's 3 lines", got, err)
	}
	// ...and does not remove.
	if again, got2, _ := sp.Peek(ctx(t), 5); again != id1 || len(got2) != 3 {
		t.Errorf("second Peek = %d, %d lines; want %d, 3", again, len(got2), id1)
	}
	// One Append is returned whole even when it is larger than the limit.
	if again, got2, _ := sp.Peek(ctx(t), 2); again != id1 || !reflect.DeepEqual(got2, a) {
		t.Errorf("Peek(2) = %d, %q; want %d and the first Append's 3 lines", again, got2, id1)
	}
	if _, got2, _ := sp.Peek(ctx(t), 7); !reflect.DeepEqual(got2, append(append([][]byte{}, a...), b...)) {
		t.Errorf("Peek(7) = %q; want both Appends", got2)
	}
	if err := sp.Remove(ctx(t), id1); err != nil {
		t.Fatal(err)
	}
	if sp.Depth() != 4 || sp.Bytes() != size(b) {
		t.Errorf("after Remove: Depth %d Bytes %d", sp.Depth(), sp.Bytes())
	}
	id2, got, err := sp.Peek(ctx(t), 100)
	if err != nil || id2 <= id1 || !reflect.DeepEqual(got, b) {
		t.Fatalf("Peek after Remove = %d %q, %v", id2, got, err)
	}
	if err := sp.Remove(ctx(t), id2); err != nil {
		t.Fatal(err)
	}
	if err := sp.Remove(ctx(t), id2); err != nil { // again: nothing to do
		t.Fatal(err)
	}
	if sp.Depth() != 0 || sp.Bytes() != 0 {
		t.Errorf("empty spool: Depth %d Bytes %d", sp.Depth(), sp.Bytes())
	}
	// IDs keep increasing after the spool ran empty.
	if err := sp.Append(ctx(t), lines(7, 1), nil); err != nil {
		t.Fatal(err)
	}
	if id3, _, _ := sp.Peek(ctx(t), 1); id3 <= id2 {
		t.Errorf("id after emptying = %d, want > %d", id3, id2)
	}
	if _, _, err := sp.Peek(ctx(t), 0); err == nil {
		t.Error("Peek(0) succeeded")
	}
	if err := sp.Append(ctx(t), [][]byte{[]byte("x"), nil}, nil); err == nil {
		t.Error("Append of an empty line succeeded")
	}
}

func TestSpoolWindowsRoundTrip(t *testing.T) {
	sp := openSpool(t, filepath.Join(t.TempDir(), "spool.db"))
	big := window(1, 2, 3, 70, 130, 200, 255, 300)
	big.Max = 1<<63 + 5 // beyond int64: stored by bits
	want := map[string]devices.SeqWindow{"a1": window(1, 2, 5), "a2": big}
	if err := sp.Append(ctx(t), lines(0, 2), want); err != nil {
		t.Fatal(err)
	}
	got, err := sp.SeqWindows(ctx(t))
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("SeqWindows = %+v, %v\nwant %+v", got, err, want)
	}
	// An upsert replaces one window and leaves the other; windows alone
	// (no lines) are fine too.
	want["a1"] = window(1, 2, 5, 6, 9)
	if err := sp.Append(ctx(t), nil, map[string]devices.SeqWindow{"a1": want["a1"]}); err != nil {
		t.Fatal(err)
	}
	if got, err := sp.SeqWindows(ctx(t)); err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("after upsert = %+v, %v", got, err)
	}
	if sp.Depth() != 2 {
		t.Errorf("Depth = %d, want 2", sp.Depth())
	}
}

func TestSpoolAppendAtomic(t *testing.T) {
	sp := openSpool(t, filepath.Join(t.TempDir(), "spool.db"))
	if err := sp.Append(ctx(t), lines(0, 2), map[string]devices.SeqWindow{"a": window(1)}); err != nil {
		t.Fatal(err)
	}
	check := func(what string) {
		t.Helper()
		if id, ls, _ := sp.Peek(ctx(t), 100); len(ls) != 2 || sp.Depth() != 2 || sp.Bytes() != size(lines(0, 2)) {
			t.Errorf("%s: %d lines stored (last id %d), Depth %d Bytes %d; want the 2 from before", what, len(ls), id, sp.Depth(), sp.Bytes())
		}
		if ws, _ := sp.SeqWindows(ctx(t)); !reflect.DeepEqual(ws, map[string]devices.SeqWindow{"a": window(1)}) {
			t.Errorf("%s: windows changed to %+v", what, ws)
		}
	}

	// A context cancelled before the Append.
	cancelled, cancel := context.WithCancel(ctx(t))
	cancel()
	if err := sp.Append(cancelled, lines(2, 10), map[string]devices.SeqWindow{"a": window(1, 2), "b": window(1)}); err == nil {
		t.Fatal("Append with a cancelled context succeeded")
	}
	check("cancelled context")

	// A failure after every line and window was written, before the commit.
	boom := errors.New("boom")
	sp.beforeCommit = func() error { return boom }
	err := sp.Append(ctx(t), lines(2, 10), map[string]devices.SeqWindow{"a": window(1, 2), "b": window(1)})
	sp.beforeCommit = nil
	if !errors.Is(err, boom) {
		t.Fatalf("Append = %v, want boom", err)
	}
	check("failure before commit")

	// A context cancelled while the transaction runs.
	mid, cancel := context.WithCancel(ctx(t))
	sp.beforeCommit = func() error { cancel(); return nil }
	err = sp.Append(mid, lines(2, 10), map[string]devices.SeqWindow{"b": window(1)})
	sp.beforeCommit = nil
	if err == nil {
		t.Fatal("Append whose context was cancelled mid-transaction succeeded")
	}
	check("cancelled mid-transaction")
}

func TestSpoolReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "spool.db")
	sp, err := Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	all := lines(0, 25)
	for i := 0; i < len(all); i += 5 {
		if err := sp.Append(ctx(t), all[i:i+5], map[string]devices.SeqWindow{"a": window(4)}); err != nil {
			t.Fatal(err)
		}
	}
	id, _, _ := sp.Peek(ctx(t), 5)
	if err := sp.Remove(ctx(t), id); err != nil {
		t.Fatal(err)
	}
	if err := sp.Close(); err != nil {
		t.Fatal(err)
	}
	if err := sp.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}

	sp = openSpool(t, path)
	if sp.Depth() != 20 || sp.Bytes() != size(all[5:]) {
		t.Errorf("reopened: Depth %d Bytes %d, want 20 and %d", sp.Depth(), sp.Bytes(), size(all[5:]))
	}
	id2, got, err := sp.Peek(ctx(t), 100)
	if err != nil || id2 <= id || !reflect.DeepEqual(got, all[5:]) {
		t.Errorf("reopened Peek = %d lines (last %d), %v", len(got), id2, err)
	}
	if ws, err := sp.SeqWindows(ctx(t)); err != nil || !reflect.DeepEqual(ws, map[string]devices.SeqWindow{"a": window(4)}) {
		t.Errorf("reopened windows = %+v, %v", ws, err)
	}
}

func TestSpoolRejectsPostgres(t *testing.T) {
	if _, err := Open("postgres://db/spool", nil); err == nil {
		t.Error("OpenSpool accepted a PostgreSQL DSN")
	}
	if _, err := Open("", nil); err == nil {
		t.Error("OpenSpool accepted an empty path")
	}
}

// TestSpoolConcurrent runs one appender and one drainer, as the hub does,
// and checks that every line comes out once, in order.
func TestSpoolConcurrent(t *testing.T) {
	sp := openSpool(t, filepath.Join(t.TempDir(), "spool.db"))
	const batches, per = 40, 50
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := range batches {
			if err := sp.Append(ctx(t), lines(i*per, per), map[string]devices.SeqWindow{"a": window(uint64(i + 1))}); err != nil {
				t.Error(err)
				return
			}
		}
	}()

	var got [][]byte
	deadline := time.After(30 * time.Second)
	for len(got) < batches*per {
		id, ls, err := sp.Peek(ctx(t), 64)
		if err != nil {
			t.Fatal(err)
		}
		if len(ls) == 0 {
			select {
			case <-sp.Appended():
			case <-deadline:
				t.Fatalf("drained %d of %d lines before the deadline", len(got), batches*per)
			}
			continue
		}
		got = append(got, ls...)
		if err := sp.Remove(ctx(t), id); err != nil {
			t.Fatal(err)
		}
		if d := sp.Depth(); d < 0 {
			t.Fatalf("Depth went negative: %d", d)
		}
	}
	wg.Wait()
	if !reflect.DeepEqual(got, lines(0, batches*per)) {
		t.Error("drained lines differ from the appended ones (order or content)")
	}
	if sp.Depth() != 0 || sp.Bytes() != 0 {
		t.Errorf("after draining: Depth %d Bytes %d", sp.Depth(), sp.Bytes())
	}
}

func TestSpoolAppendedSignals(t *testing.T) {
	sp := openSpool(t, filepath.Join(t.TempDir(), "spool.db"))
	select {
	case <-sp.Appended():
		t.Fatal("signalled before any Append")
	default:
	}
	for range 3 { // never blocks, however many Appends go unobserved
		if err := sp.Append(ctx(t), lines(0, 1), nil); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case <-sp.Appended():
	default:
		t.Fatal("no signal after Append")
	}
}

// BenchmarkSpoolAppend appends batches of 1,000 lines of ~100 bytes with 100
// de-duplication windows each, and reports lines per second.
func BenchmarkSpoolAppend(b *testing.B) {
	sp := openSpool(b, filepath.Join(b.TempDir(), "spool.db"))
	const batch = 1000
	ls := make([][]byte, batch)
	for i := range ls {
		ls[i] = fmt.Appendf(nil, "gas,device=gas-%05d,community=heping lel=%d.5,temp=21.%d,battery=88i %d", i%100, i%50, i%10, 1700000000000000000+int64(i))
	}
	// As in the hub at full speed: a commit of ~1,000 lines carries the
	// windows of ~600 of 1,000 devices.
	ws := make(map[string]devices.SeqWindow, 600)
	for i := range 600 {
		ws[fmt.Sprintf("gas-%05d", i)] = window(1, 2, uint64(i+3))
	}
	ctx := context.Background()
	b.SetBytes(size(ls))
	b.ResetTimer()
	for b.Loop() {
		if err := sp.Append(ctx, ls, ws); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "lines/s")
}

// Rows written before batches were stored one to a row hold one line each;
// they are still counted and drained, in order, before newer batches.
func TestSpoolReadsOneLineRows(t *testing.T) {
	path := filepath.Join(t.TempDir(), "spool.db")
	sp := openSpool(t, path)
	old := lines(0, 3)
	for _, l := range old {
		if _, err := sp.db.w.ExecContext(ctx(t), `INSERT INTO outbox (line) VALUES (?)`, l); err != nil {
			t.Fatal(err)
		}
	}
	if err := sp.Close(); err != nil {
		t.Fatal(err)
	}
	sp = openSpool(t, path)
	if sp.Depth() != 3 || sp.Bytes() != size(old) {
		t.Errorf("Depth %d Bytes %d, want 3 and %d", sp.Depth(), sp.Bytes(), size(old))
	}
	newer := lines(3, 2)
	if err := sp.Append(ctx(t), newer, nil); err != nil {
		t.Fatal(err)
	}
	id, got, err := sp.Peek(ctx(t), 2)
	if err != nil || !reflect.DeepEqual(got, old[:2]) {
		t.Fatalf("Peek(2) = %q, %v", got, err)
	}
	if err := sp.Remove(ctx(t), id); err != nil {
		t.Fatal(err)
	}
	if _, got, err := sp.Peek(ctx(t), 100); err != nil || !reflect.DeepEqual(got, append(old[2:], newer...)) {
		t.Fatalf("Peek(100) = %q, %v", got, err)
	}
	if sp.Depth() != 3 || sp.Bytes() != size(old[2:])+size(newer) {
		t.Errorf("after Remove: Depth %d Bytes %d", sp.Depth(), sp.Bytes())
	}
}

func TestSpoolRefusesALineWithANewline(t *testing.T) {
	sp := openSpool(t, filepath.Join(t.TempDir(), "spool.db"))
	err := sp.Append(ctx(t), [][]byte{[]byte("air pm25=1i 1"), []byte("air pm25=2i 2\nair pm25=3i 3")}, nil)
	if err == nil || !strings.Contains(err.Error(), "line 1 has a newline") {
		t.Fatalf("Append = %v, want an error naming line 1", err)
	}
	if sp.Depth() != 0 {
		t.Errorf("Depth %d after a refused Append", sp.Depth())
	}
}
