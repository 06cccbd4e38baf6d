package bench

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"
)

// ProcStat is what /proc says about one process at one moment.
type ProcStat struct {
	CPU     time.Duration // user + system time since the process started
	RSS     int64         // resident set size, bytes (VmRSS)
	PeakRSS int64         // peak resident set size, bytes (VmHWM)
}

var (
	clkTckOnce sync.Once
	clkTck     int64 = 100
)

// ticksPerSecond is the kernel's clock tick for /proc/<pid>/stat times
// (getconf CLK_TCK; 100 on Linux almost everywhere).
func ticksPerSecond() int64 {
	clkTckOnce.Do(func() {
		out, err := exec.Command("getconf", "CLK_TCK").Output()
		if err != nil {
			return
		}
		if n, err := strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64); err == nil && n > 0 {
			clkTck = n
		}
	})
	return clkTck
}

// ReadProcStat reads CPU time from /proc/<pid>/stat (utime + stime) and
// memory from /proc/<pid>/status (VmRSS, VmHWM). pid 0 means this process.
func ReadProcStat(pid int) (ProcStat, error) {
	dir := "/proc/self"
	if pid != 0 {
		dir = "/proc/" + strconv.Itoa(pid)
	}
	var st ProcStat
	raw, err := os.ReadFile(dir + "/stat")
	if err != nil {
		return st, fmt.Errorf("proc stat: %w", err)
	}
	// The command name may hold spaces and parentheses: fields start after
	// the last ')'. utime and stime are fields 14 and 15 (1-based), so 11
	// and 12 after it.
	i := bytes.LastIndexByte(raw, ')')
	if i < 0 {
		return st, fmt.Errorf("proc stat %s: malformed", dir)
	}
	f := strings.Fields(string(raw[i+1:]))
	if len(f) < 13 {
		return st, fmt.Errorf("proc stat %s: malformed", dir)
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return st, fmt.Errorf("proc stat %s: malformed times", dir)
	}
	st.CPU = time.Duration((utime + stime) * int64(time.Second) / ticksPerSecond())

	fh, err := os.Open(dir + "/status")
	if err != nil {
		return st, fmt.Errorf("proc status: %w", err)
	}
	defer fh.Close()
	sc := bufio.NewScanner(fh)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok || (k != "VmRSS" && k != "VmHWM") {
			continue
		}
		fs := strings.Fields(v)
		if len(fs) == 0 {
			continue
		}
		kb, err := strconv.ParseInt(fs[0], 10, 64)
		if err != nil {
			continue
		}
		if k == "VmRSS" {
			st.RSS = kb << 10
		} else {
			st.PeakRSS = kb << 10
		}
	}
	return st, sc.Err()
}

// LoadAverage returns /proc/loadavg's first three figures, as uptime
// prints them.
func LoadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

// ReadTreeCPU is the CPU time of a server that forks a process per client,
// as PostgreSQL does: pid's own user and system time, its children's that
// ended (cutime, cstime), and those of the children still running.
func ReadTreeCPU(pid int) (time.Duration, error) {
	own, done, err := cpuTicks(strconv.Itoa(pid))
	if err != nil {
		return 0, err
	}
	total := own + done
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return 0, fmt.Errorf("proc: %w", err)
	}
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		raw, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue // gone meanwhile
		}
		i := bytes.LastIndexByte(raw, ')')
		f := strings.Fields(string(raw[i+1:]))
		if i < 0 || len(f) < 15 || f[1] != strconv.Itoa(pid) {
			continue
		}
		if c, _, err := cpuTicks(e.Name()); err == nil {
			total += c
		}
	}
	return time.Duration(total * int64(time.Second) / ticksPerSecond()), nil
}

// cpuTicks reads a process's utime+stime and cutime+cstime in clock ticks.
func cpuTicks(pid string) (own, children int64, err error) {
	raw, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return 0, 0, fmt.Errorf("proc stat: %w", err)
	}
	i := bytes.LastIndexByte(raw, ')')
	if i < 0 {
		return 0, 0, fmt.Errorf("proc stat %s: malformed", pid)
	}
	f := strings.Fields(string(raw[i+1:]))
	if len(f) < 15 {
		return 0, 0, fmt.Errorf("proc stat %s: malformed", pid)
	}
	var t [4]int64
	for k := range t {
		if t[k], err = strconv.ParseInt(f[11+k], 10, 64); err != nil {
			return 0, 0, fmt.Errorf("proc stat %s: malformed times", pid)
		}
	}
	return t[0] + t[1], t[2] + t[3], nil
}
