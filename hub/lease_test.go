package hub

import (
	"context"
	"sync"
	"testing"
	"time"
)

// fakeLeases grants leases as the SQL store does, by its own clock.
type fakeLeases struct {
	mu     sync.Mutex
	leases map[string]*Lease
	until  map[string]time.Time
	fail   bool
}

func newFakeLeases() *fakeLeases {
	return &fakeLeases{leases: map[string]*Lease{}, until: map[string]time.Time{}}
}

func (f *fakeLeases) AcquireLease(_ context.Context, name, holder string, ttl time.Duration) (Lease, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail {
		return Lease{}, false, context.DeadlineExceeded
	}
	now := time.Now()
	l, ok := f.leases[name]
	switch {
	case !ok:
		l = &Lease{Name: name, Holder: holder, Epoch: 1}
		f.leases[name] = l
	case l.Holder == holder && now.Before(f.until[name]):
	case l.Holder == holder || !now.Before(f.until[name]):
		l.Holder, l.Epoch = holder, l.Epoch+1
	default:
		return Lease{}, false, nil
	}
	f.until[name] = now.Add(ttl)
	return *l, true, nil
}

func (f *fakeLeases) ReleaseLease(_ context.Context, l Lease) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if cur, ok := f.leases[l.Name]; ok && *cur == l {
		f.until[l.Name] = time.Time{}
	}
	return nil
}

func (f *fakeLeases) holder(name string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if l, ok := f.leases[name]; ok && time.Now().Before(f.until[name]) {
		return l.Holder
	}
	return ""
}

func startLeases(t *testing.T, store LeaseStore, holder string) (*Leases, context.CancelFunc, chan struct{}) {
	t.Helper()
	l, err := NewLeases(LeasesConfig{Store: store, Holder: holder, TTL: 400 * time.Millisecond, Renew: 100 * time.Millisecond}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); l.Run(ctx) }()
	return l, cancel, done
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestLeaseSingleton: a job runs on one of two instances; a clean stop of
// its holder hands it to the other at once (a new epoch), and a holder
// whose renewals fail stops its job before its lease can have passed.
func TestLeaseSingleton(t *testing.T) {
	store := newFakeLeases()
	var mu sync.Mutex
	running := map[string]int{}
	epochs := map[string]int64{}
	job := func(holder string) func(context.Context, Lease) {
		return func(ctx context.Context, l Lease) {
			mu.Lock()
			running[holder]++
			epochs[holder] = l.Epoch
			mu.Unlock()
			<-ctx.Done()
			mu.Lock()
			running[holder]--
			mu.Unlock()
		}
	}
	count := func() (a, b int) {
		mu.Lock()
		defer mu.Unlock()
		return running["a"], running["b"]
	}
	la, stopA, doneA := startLeases(t, store, "a")
	la.Singleton("sweep", job("a"))
	waitFor(t, "a running the job", func() bool { a, _ := count(); return a == 1 })
	lb, stopB, doneB := startLeases(t, store, "b")
	defer func() { stopB(); <-doneB }()
	lb.Singleton("sweep", job("b"))
	time.Sleep(500 * time.Millisecond) // several renewal rounds of both
	if a, b := count(); a != 1 || b != 0 {
		t.Fatalf("running on a %d, b %d; want a only", a, b)
	}
	if _, ok := la.Current("sweep"); !ok || len(lb.Held()) != 0 {
		t.Fatal("a does not hold the lease, or b holds something")
	}
	stopA()
	<-doneA // a gave it up on its way out
	if a, _ := count(); a != 0 {
		t.Fatal("a's job still runs after it stopped")
	}
	lb.Wake()
	waitFor(t, "b running the job", func() bool { _, b := count(); return b == 1 })
	mu.Lock()
	if epochs["b"] != 2 {
		t.Errorf("b's epoch %d, want 2", epochs["b"])
	}
	mu.Unlock()

	// b's store fails: b stops the job before its lease (400 ms) lapses.
	store.mu.Lock()
	store.fail = true
	store.mu.Unlock()
	waitFor(t, "b stopping the job", func() bool { _, b := count(); return b == 0 })
	if store.holder("sweep") != "b" {
		t.Error("b stopped its job only after its lease had lapsed")
	}
}

// TestLeaseYield: a job that returns on its own gives its lease up, so
// another instance takes it; Drop stops a job and releases its lease.
func TestLeaseYield(t *testing.T) {
	store := newFakeLeases()
	la, stopA, doneA := startLeases(t, store, "a")
	defer func() { stopA(); <-doneA }()
	ran := make(chan struct{}, 1)
	la.Singleton("session/x", func(ctx context.Context, l Lease) { ran <- struct{}{} }) // returns at once
	<-ran
	waitFor(t, "the lease given up", func() bool { return store.holder("session/x") == "" })
	lb, stopB, doneB := startLeases(t, store, "b")
	defer func() { stopB(); <-doneB }()
	got := make(chan Lease, 1)
	lb.Singleton("session/x", func(ctx context.Context, l Lease) { got <- l; <-ctx.Done() })
	if l := <-got; l.Holder != "b" || l.Epoch != 2 {
		t.Errorf("b got %+v", l)
	}
	lb.Drop("session/x")
	waitFor(t, "b's lease released by Drop", func() bool { return store.holder("session/x") == "" && !lb.Registered("session/x") })
}

// TestLeaseAlone: without a store every lease is held at once, at epoch 1.
func TestLeaseAlone(t *testing.T) {
	l, stop, done := startLeases(t, nil, "hub")
	defer func() { stop(); <-done }()
	got := make(chan Lease, 1)
	l.Singleton("prune", func(ctx context.Context, le Lease) { got <- le; <-ctx.Done() })
	if le := <-got; le.Epoch != 1 || le.Holder != "hub" || l.Shared() {
		t.Errorf("alone: %+v, shared %v", le, l.Shared())
	}
}
