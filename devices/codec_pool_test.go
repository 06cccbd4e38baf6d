package devices

import (
	"reflect"
	"sync"
	"testing"
)

// TestDecodeConcurrently decodes from several goroutines at once, as the
// hub's handlers do: the pooled tokenizers must not mix payloads up. Run it
// with -race.
func TestDecodeConcurrently(t *testing.T) {
	want := make([]*Message, len(benchPayloads))
	for i, p := range benchPayloads {
		m, err := decodeRef(DefaultLimits, p.kind, p.ch, []byte(p.payload), recv)
		if err != nil {
			t.Fatalf("%s: %v", p.name, err)
		}
		want[i] = m
	}
	var wg sync.WaitGroup
	errs := make(chan string, 4)
	for g := range 4 {
		wg.Go(func() {
			for n := range 500 {
				i := (g + n) % len(benchPayloads)
				p := benchPayloads[i]
				payload := []byte(p.payload) // a fresh copy, overwritten below
				m, err := Decode(DefaultLimits, p.kind, p.ch, payload, recv)
				clear(payload)
				if err != nil || !reflect.DeepEqual(m, want[i]) {
					errs <- p.name
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for name := range errs {
		t.Errorf("%s: decoded differently under concurrency, or kept a view of the payload", name)
	}
}
