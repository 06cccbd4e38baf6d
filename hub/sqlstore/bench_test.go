package sqlstore

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/shouwang-hub/shouwang/devices"
)

// BenchmarkLoadDeviceIndex loads a registry of 100,000 devices, as the hub
// does at start.
func BenchmarkLoadDeviceIndex(b *testing.B) {
	s, err := Open(filepath.Join(b.TempDir(), "hub.db"), nil)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	const n = 100_000
	ctx := context.Background()
	for start := 0; start < n; start += 5000 {
		ds := make([]*devices.Device, 5000)
		hs := make([]string, 5000)
		for i := range ds {
			ds[i] = device(fmt.Sprintf("d%06d", start+i), fmt.Sprintf("c%02d", i%20), fmt.Sprintf("g%02d", i%50), fmt.Sprintf("b%03d", i%300))
			hs[i] = "$7$hash"
		}
		if err := s.ImportDevices(ctx, ds, hs); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for b.Loop() {
		loaded := 0
		err := s.LoadDeviceIndex(ctx, func(*devices.Device) error { loaded++; return nil })
		if err != nil || loaded != n {
			b.Fatalf("loaded %d, %v", loaded, err)
		}
	}
}
