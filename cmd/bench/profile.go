package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// maxProfile caps one CPU profile.
const maxProfile = 30 * time.Second

// profileCPU starts a CPU profile of the hub lasting d (at most 30 s) into
// <profile dir>/<name>.pprof, through the hub's admin-only pprof endpoint.
// wait blocks until it is written and returns its path, or "" when
// profiling is off or failed. Without -profile it does nothing.
func (e *Env) profileCPU(ctx context.Context, st *Stack, name string, d time.Duration) (wait func() string) {
	if e.opts.ProfileDir == "" {
		return func() string { return "" }
	}
	secs := int(min(max(d, time.Second), maxProfile) / time.Second)
	var wg sync.WaitGroup
	var path string
	wg.Go(func() {
		p, err := st.API.Profile(ctx, secs)
		if err == nil {
			err = e.writeProfile(name+".pprof", p)
		}
		if err != nil {
			fmt.Fprintf(e.out, "cpu profile %s: %v\n", name, err)
			return
		}
		path = filepath.Join(e.opts.ProfileDir, name+".pprof")
	})
	return func() string { wg.Wait(); return path }
}

// traceHub saves an execution trace of the hub's next d (at most
// maxTrace) as <profile dir>/<name>.trace — where its goroutines waited to
// run: go tool trace -pprof=sched. Without -profile it does nothing.
func (e *Env) traceHub(ctx context.Context, st *Stack, name string, d time.Duration) (wait func()) {
	if e.opts.ProfileDir == "" {
		return func() {}
	}
	secs := int(min(max(d, time.Second), maxTrace) / time.Second)
	var wg sync.WaitGroup
	wg.Go(func() {
		p, err := st.API.Trace(ctx, secs)
		if err == nil {
			err = e.writeProfile(name+".trace", p)
		}
		if err != nil {
			fmt.Fprintf(e.out, "trace %s: %v\n", name, err)
		}
	})
	return wg.Wait
}

// maxTrace bounds a trace: it grows by megabytes a second under load.
const maxTrace = 3 * time.Second

// profileNamed saves one of the hub's runtime profiles ("heap", "allocs")
// as <profile dir>/<name>.<kind>. Without -profile it does nothing. A heap
// profile is taken after a garbage collection, so it shows what is live.
func (e *Env) profileNamed(ctx context.Context, st *Stack, name, kind string) {
	if e.opts.ProfileDir == "" {
		return
	}
	path := kind
	if kind == "heap" {
		path += "?gc=1"
	}
	p, err := st.API.NamedProfile(ctx, path)
	if err == nil {
		err = e.writeProfile(name+"."+kind, p)
	}
	if err != nil {
		fmt.Fprintf(e.out, "%s profile %s: %v\n", kind, name, err)
	}
}

func (e *Env) writeProfile(file string, p []byte) error {
	if err := os.MkdirAll(e.opts.ProfileDir, 0o755); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(e.opts.ProfileDir, file), p, 0o644)
}
