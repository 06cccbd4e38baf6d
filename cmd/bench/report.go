package main

import (
	"bufio"
	"cmp"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/shouwang-hub/shouwang/internal/bench"
)

// Report is one scenario's outcome: its figures, the targets of the
// benchmark issue it was measured against, and what went wrong.
type Report struct {
	Scenario string    `json:"scenario"`
	Started  time.Time `json:"started"`
	// LoadBefore is /proc/loadavg's 1, 5 and 15 minute load averages just
	// before the scenario started: the machine is shared.
	LoadBefore string         `json:"load_before"`
	Config     map[string]any `json:"config"`
	Figures    []Figure       `json:"figures"`
	Targets    []Target       `json:"targets"`
	// Failures are correctness failures (lost, doubled, unseen) and
	// errors; any makes the program exit non-zero. Missing a speed target
	// is not a failure.
	Failures []string `json:"failures"`
	Details  any      `json:"details"`
}

// Figure is one measured number.
type Figure struct {
	Name  string  `json:"name"`
	Value float64 `json:"value"`
	Unit  string  `json:"unit"`
}

// Target is one goal of the benchmark issue and whether it was met.
type Target struct {
	Goal     string `json:"goal"`
	Measured string `json:"measured"`
	Met      bool   `json:"met"`
}

func (r *Report) fig(name string, v float64, unit string) {
	r.Figures = append(r.Figures, Figure{Name: name, Value: v, Unit: unit})
}

func (r *Report) target(goal string, met bool, format string, args ...any) {
	r.Targets = append(r.Targets, Target{Goal: goal, Measured: fmt.Sprintf(format, args...), Met: met})
}

func (r *Report) failf(format string, args ...any) {
	r.Failures = append(r.Failures, fmt.Sprintf(format, args...))
}

// print writes the report as tables.
func (r *Report) print(w io.Writer) {
	store, _ := r.Config["store"].(string)
	fmt.Fprintf(w, "\n%s results, store %s (load average before: %s)\n", r.Scenario, cmp.Or(store, "sqlite"), r.LoadBefore)
	tw := tabwriter.NewWriter(w, 2, 0, 2, ' ', 0)
	for _, f := range r.Figures {
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", f.Name, formatValue(f.Value), f.Unit)
	}
	tw.Flush()
	if len(r.Targets) > 0 {
		fmt.Fprintln(w, "targets:")
		tw = tabwriter.NewWriter(w, 2, 0, 2, ' ', 0)
		for _, t := range r.Targets {
			status := "MET"
			if !t.Met {
				status = "not met"
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\n", t.Goal, t.Measured, status)
		}
		tw.Flush()
	}
	if len(r.Failures) == 0 {
		fmt.Fprintln(w, "correctness: ok (nothing lost, nothing doubled)")
	} else {
		fmt.Fprintln(w, "correctness: FAILED")
		for _, f := range r.Failures {
			fmt.Fprintf(w, "  - %s\n", f)
		}
	}
}

func formatValue(v float64) string {
	switch a := math.Abs(v); {
	case a >= 1000:
		return groupThousands(int64(math.Round(v)))
	case v == math.Trunc(v):
		return fmt.Sprintf("%.0f", v)
	case a >= 100:
		return fmt.Sprintf("%.0f", v)
	case a >= 10:
		return fmt.Sprintf("%.1f", v)
	default:
		return fmt.Sprintf("%.2f", v)
	}
}

func groupThousands(n int64) string {
	s := fmt.Sprintf("%d", n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// newReport starts a report, noting the load average now.
func newReport(scenario string, config map[string]any) *Report {
	return &Report{Scenario: scenario, Started: time.Now(), LoadBefore: loadAverage(), Config: config}
}

func loadAverage() string { return bench.LoadAverage() }

// Machine describes where the figures were measured.
type Machine struct {
	CPUs      int    `json:"cpus"`
	CPUModel  string `json:"cpu_model"`
	MemTotal  string `json:"mem_total"`
	Kernel    string `json:"kernel"`
	GoVersion string `json:"go_version"`
	Commit    string `json:"commit"`
}

func machineInfo(root string) Machine {
	m := Machine{CPUs: runtime.NumCPU(), GoVersion: runtime.Version()}
	m.CPUModel = procField("/proc/cpuinfo", "model name")
	m.MemTotal = procField("/proc/meminfo", "MemTotal")
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	cmd := exec.Command("git", "rev-parse", "HEAD") // read-only
	cmd.Dir = root
	if b, err := cmd.Output(); err == nil {
		m.Commit = strings.TrimSpace(string(b))
	}
	return m
}

// procField returns the value of the first "key: value" line of a /proc file.
func procField(path, key string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == key {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// mb converts bytes to MiB.
func mb(b int64) float64 { return float64(b) / (1 << 20) }
