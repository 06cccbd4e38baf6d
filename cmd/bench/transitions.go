package main

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/shouwang-hub/shouwang/internal/bench"
)

// TransitionsOptions size the transitions scenario.
type TransitionsOptions struct {
	Alerts    int // alerts opened, then each accepted, dispatched and resolved
	Operators int // operators working at once
}

// TransitionsResult is what the transitions scenario measured.
type TransitionsResult struct {
	Alerts         int                `json:"alerts"`
	Operators      int                `json:"operators"`
	Seconds        float64            `json:"seconds"`
	Committed      int                `json:"committed"` // transitions that changed an alert (200)
	Refused        int                `json:"refused"`   // rival accepts told who won (409)
	Rate           float64            `json:"committed_per_second"`
	Latency        bench.Latency      `json:"latency"` // every request, 200 or 409
	CPUMicrosPerTx map[string]float64 `json:"cpu_us_per_transition"`
	Wrong          int                `json:"wrong_answers"` // anything but one 200 and one 409 per accept, 200 after
	NotResolved    int                `json:"not_resolved"`

	rep *Report
}

// runTransitions opens alerts, then has operators work through them at
// once: each alert gets two accepts at the same moment from two operators
// (exactly one may win; the other is told who did), then the winner
// dispatches and resolves it. It measures committed transitions a second,
// each request's time and the hub's (and PostgreSQL's) CPU per transition.
func runTransitions(ctx context.Context, env *Env, o TransitionsOptions) (*TransitionsResult, error) {
	res := &TransitionsResult{Alerts: o.Alerts, Operators: o.Operators}
	res.rep = newReport("transitions", map[string]any{"alerts": o.Alerts, "operators": o.Operators,
		"per_alert": "two accepts at once (one wins), dispatch, resolve", "rules": benchRules})
	st, err := env.startParts(ctx, "transitions")
	if err != nil {
		return nil, err
	}
	defer st.Close()
	if err := env.startHub(ctx, st, "", benchRules); err != nil {
		return nil, err
	}
	ds := sosDevices("t", o.Alerts)
	if err := register(ctx, st.Hub.URL, st.API.Token, ds); err != nil {
		return nil, err
	}
	ops := make([]*bench.API, o.Operators)
	for i := range ops {
		name := fmt.Sprintf("op%03d", i)
		code, body, err := st.API.Call(ctx, http.MethodPost, "/api/v1/users",
			map[string]string{"username": name, "role": "operator", "password": "bench-operator-pw"})
		if err != nil || code != http.StatusCreated && code != http.StatusOK {
			return nil, fmt.Errorf("create operator %s: %d %s %v", name, code, body, err)
		}
		if ops[i], err = bench.Login(ctx, st.Hub.URL, name, "bench-operator-pw"); err != nil {
			return nil, err
		}
	}

	presser, err := bench.NewPublisher(ctx, st.BrokerURL, "bench-presser", 100)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(env.out, "opening %d alerts …\n", o.Alerts)
	for i, d := range ds {
		presser.Publish("shouwang/v1/"+d.ID+"/event", pressPayload(i+1, time.Now()), nil)
	}
	presser.Close()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		n, err := st.API.AlertTotal(ctx, "state=new")
		if err != nil {
			return nil, err
		}
		if n == o.Alerts {
			break
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("%d of %d alerts open after two minutes", n, o.Alerts)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
	open, err := st.API.Alerts(ctx, "state=new")
	if err != nil {
		return nil, err
	}

	fmt.Fprintf(env.out, "%d operators accept, dispatch and resolve them at once …\n", o.Operators)
	work := make(chan int64)
	var (
		mu   sync.Mutex
		lats []time.Duration
		wg   sync.WaitGroup
	)
	call := func(api *bench.API, path string, body any) int {
		t := time.Now()
		code, _, err := api.Call(ctx, http.MethodPost, path, body)
		d := time.Since(t)
		mu.Lock()
		defer mu.Unlock()
		lats = append(lats, d)
		if err != nil {
			res.Wrong++
			return 0
		}
		switch code {
		case http.StatusOK:
			res.Committed++
		case http.StatusConflict:
			res.Refused++
		}
		return code
	}
	cpu0, t0 := st.cpuSnapshot(), time.Now()
	for w := range ops {
		wg.Go(func() {
			me, rival := ops[w], ops[(w+1)%len(ops)]
			for id := range work {
				base := fmt.Sprintf("/api/v1/alerts/%d/", id)
				var codes [2]int
				var both sync.WaitGroup
				for k, api := range []*bench.API{me, rival} {
					both.Go(func() { codes[k] = call(api, base+"accept", map[string]string{"note": "我来处理"}) })
				}
				both.Wait()
				winner := me
				switch codes {
				case [2]int{200, 409}:
				case [2]int{409, 200}:
					winner = rival
				default:
					mu.Lock()
					res.Wrong++
					mu.Unlock()
					continue
				}
				if call(winner, base+"dispatch", map[string]string{"to": "120", "note": "救护车"}) != 200 ||
					call(winner, base+"resolve", map[string]string{"outcome": "genuine", "note": "送医"}) != 200 {
					mu.Lock()
					res.Wrong++
					mu.Unlock()
				}
			}
		})
	}
	for _, a := range open {
		work <- a.ID
	}
	close(work)
	wg.Wait()
	cpu1 := st.cpuSnapshot()
	res.Seconds = time.Since(t0).Seconds()
	res.Rate = float64(res.Committed) / res.Seconds
	res.Latency = bench.Summarise(lats)
	res.CPUMicrosPerTx = map[string]float64{}
	for name, c := range cpu1 {
		if res.Committed > 0 {
			res.CPUMicrosPerTx[name] = float64((c - cpu0[name]).Microseconds()) / float64(res.Committed)
		}
	}
	resolved, err := st.API.AlertTotal(ctx, "state=resolved")
	if err != nil {
		return res, err
	}
	res.NotResolved = o.Alerts - resolved
	return res, nil
}

func (r *TransitionsResult) report() *Report {
	rep := r.rep
	rep.Details = r
	rep.fig("transitions committed (accept, dispatch, resolve)", float64(r.Committed), "")
	rep.fig("rival accepts refused (409, told who won)", float64(r.Refused), "")
	rep.fig("committed transitions a second", r.Rate, "/s")
	rep.fig("request p50", r.Latency.P50, "ms")
	rep.fig("request p99", r.Latency.P99, "ms")
	rep.fig("request max", r.Latency.Max, "ms")
	for _, p := range []string{"hub", "postgres", "bench"} {
		if v, ok := r.CPUMicrosPerTx[p]; ok {
			rep.fig(p+" CPU per committed transition", v, "µs")
		}
	}
	if r.Wrong > 0 {
		rep.failf("%d alerts did not get exactly one winning accept, or a later step failed", r.Wrong)
	}
	if r.NotResolved != 0 {
		rep.failf("%d alerts not resolved at the end", r.NotResolved)
	}
	if want := 3 * r.Alerts; r.Committed != want || r.Refused != r.Alerts {
		rep.failf("%d transitions committed and %d refused, want %d and %d", r.Committed, r.Refused, want, r.Alerts)
	}
	return rep
}
