package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/shouwang-hub/shouwang/internal/bench"
	"github.com/shouwang-hub/shouwang/internal/parts"
)

// adminPassword is the bench hub's admin password (a throwaway hub on
// loopback).
const adminPassword = "bench-admin-password"

// Env is what every scenario shares: the tools, the built hub and a work
// directory.
type Env struct {
	opts      EnvOptions
	out       io.Writer
	root      string
	dir       string
	mosquitto string
	influxd   string
	hubBin    string
}

// newEnv finds the tools and builds the hub.
func newEnv(ctx context.Context, o EnvOptions, out io.Writer) (*Env, error) {
	root, err := parts.RepoRoot()
	if err != nil {
		return nil, fmt.Errorf("%w: run the benchmark inside the repository", err)
	}
	e := &Env{opts: o, out: out, root: root, mosquitto: o.Mosquitto, influxd: o.Influxd, hubBin: o.HubBin}
	if o.MQTTURL == "" && e.mosquitto == "" {
		if e.mosquitto, err = parts.FindTool(root, "mosquitto"); err != nil {
			return nil, err
		}
	}
	if o.InfluxURL == "" && e.influxd == "" {
		if e.influxd, err = parts.FindTool(root, "influxd"); err != nil {
			return nil, err
		}
	}
	if e.hubBin != "" {
		if _, err := os.Stat(e.hubBin); err != nil {
			return nil, fmt.Errorf("-hub-bin: %w", err)
		}
	}
	if e.dir, err = os.MkdirTemp(o.WorkDir, "shouwang-bench-"); err != nil {
		return nil, fmt.Errorf("work dir: %w", err)
	}
	if e.hubBin == "" {
		e.hubBin = filepath.Join(e.dir, "hub")
		fmt.Fprintf(out, "building the hub (go build ./cmd/hub) …\n")
		if err := bench.BuildHub(ctx, root, e.hubBin); err != nil {
			e.Close()
			return nil, err
		}
	}
	return e, nil
}

// Close removes the work directory unless asked to keep it.
func (e *Env) Close() {
	if e.opts.Keep {
		fmt.Fprintf(e.out, "work directory kept: %s\n", e.dir)
		return
	}
	os.RemoveAll(e.dir)
}

// Stack is one scenario's running parts.
type Stack struct {
	Dir       string // the scenario's directory
	BrokerURL string
	InfluxURL string
	Influx    *bench.Influx // the scenario's own database
	Hub       *bench.Hub
	Others    []*bench.Hub // instances b, c, … beside Hub (instance a), with -instances
	API       *bench.API   // logged in as admin
	Mosq      *bench.Mosquitto
	Influxd   *bench.InfluxServer
	Postgres  *bench.Postgres // with -db postgres
	name      string
	embedded  bool // BrokerURL is the hub's embedded broker
}

// startParts starts the broker and InfluxDB (unless given) for one
// scenario and creates its database.
func (e *Env) startParts(ctx context.Context, name string) (*Stack, error) {
	return e.startPartsWith(ctx, name, &bench.MosquittoConfig{AutosaveInterval: e.opts.Autosave})
}

// startPartsWith is startParts with mosquitto configured as mosq (Path
// and Dir are filled in); nil starts no broker, for the hub's embedded
// one (startHub then starts it).
func (e *Env) startPartsWith(ctx context.Context, name string, mosq *bench.MosquittoConfig) (*Stack, error) {
	dir, err := os.MkdirTemp(e.dir, name+"-")
	if err != nil {
		return nil, err
	}
	s := &Stack{Dir: dir, BrokerURL: e.opts.MQTTURL, InfluxURL: e.opts.InfluxURL, name: name}
	if s.BrokerURL == "" && mosq != nil {
		d := filepath.Join(dir, "mosquitto")
		if err := os.Mkdir(d, 0o755); err != nil {
			return nil, err
		}
		cfg := *mosq
		cfg.Path, cfg.Dir = e.mosquitto, d
		if s.Mosq, err = bench.StartMosquitto(cfg); err != nil {
			return nil, err
		}
		s.BrokerURL = s.Mosq.URL()
	}
	if s.InfluxURL == "" {
		d := filepath.Join(dir, "influxd")
		if err := os.Mkdir(d, 0o755); err != nil {
			s.Close()
			return nil, err
		}
		if s.Influxd, err = bench.StartInflux(bench.InfluxConfig{Path: e.influxd, Dir: d}); err != nil {
			s.Close()
			return nil, err
		}
		s.InfluxURL = s.Influxd.URL()
	}
	if e.opts.DB == "postgres" {
		if s.Postgres, err = bench.StartPostgres(); err != nil {
			s.Close()
			return nil, err
		}
	}
	db := "bench_" + name + "_" + strconv.FormatInt(time.Now().Unix(), 10)
	s.Influx = bench.NewInflux(s.InfluxURL, db)
	if err := s.Influx.Exec(ctx, "CREATE DATABASE "+db); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// startHub starts the hub on the stack's parts with the given data
// directory (empty: a fresh one) and rules, and logs in as admin.
func (e *Env) startHub(ctx context.Context, s *Stack, dataDir, rules string) error {
	if dataDir == "" {
		dataDir = filepath.Join(s.Dir, "hub")
	}
	var rulesFile string
	if rules != "" {
		rulesFile = filepath.Join(s.Dir, "rules.json")
		if err := os.WriteFile(rulesFile, []byte(rules), 0o644); err != nil {
			return err
		}
	}
	var listen string
	if s.BrokerURL == "" { // the embedded broker
		port, err := parts.FreePort()
		if err != nil {
			return err
		}
		listen = "127.0.0.1:" + strconv.Itoa(port)
	}
	h, err := bench.StartHub(bench.HubConfig{
		Bin: e.hubBin, DataDir: dataDir, MQTTURL: s.BrokerURL, MQTTListen: listen,
		ClientID:  "bench-hub-" + s.name + "-" + strconv.FormatInt(time.Now().UnixNano(), 36),
		InfluxURL: s.InfluxURL, InfluxBucket: s.Influx.DB + "/autogen",
		AdminPassword: adminPassword, RulesFile: rulesFile, LogPath: filepath.Join(s.Dir, "hub.log"),
		DB: s.dsn(),
	})
	if err != nil {
		return err
	}
	s.Hub = h
	if listen != "" {
		s.BrokerURL, s.embedded = "tcp://"+listen, true
	}
	if s.API, err = bench.Login(ctx, h.URL, "admin", adminPassword); err != nil {
		return err
	}
	return nil
}

// startInstances starts n hubs as instances a, b, … of one installation
// (one PostgreSQL, one broker, one client-ID base), each with its own data
// directory; Hub is instance a, Others the rest.
func (e *Env) startInstances(ctx context.Context, s *Stack, rules string, n int) error {
	if s.Postgres == nil {
		return errors.New("several instances need -db postgres")
	}
	var rulesFile string
	if rules != "" {
		rulesFile = filepath.Join(s.Dir, "rules.json")
		if err := os.WriteFile(rulesFile, []byte(rules), 0o644); err != nil {
			return err
		}
	}
	base := "bench-hub-" + s.name + "-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	for i := range n {
		name := string(rune('a' + i))
		h, err := bench.StartHub(bench.HubConfig{
			Bin: e.hubBin, DataDir: filepath.Join(s.Dir, "hub-"+name), MQTTURL: s.BrokerURL, ClientID: base,
			InfluxURL: s.InfluxURL, InfluxBucket: s.Influx.DB + "/autogen",
			AdminPassword: adminPassword, RulesFile: rulesFile, LogPath: filepath.Join(s.Dir, "hub-"+name+".log"),
			DB: s.dsn(), Instance: name,
		})
		if err != nil {
			return fmt.Errorf("instance %s: %w", name, err)
		}
		if i == 0 {
			s.Hub = h
		} else {
			s.Others = append(s.Others, h)
		}
	}
	var err error
	s.API, err = bench.Login(ctx, s.Hub.URL, "admin", adminPassword)
	return err
}

// dsn is the hub's -db: its own PostgreSQL, or "" for SQLite.
func (s *Stack) dsn() string {
	if s.Postgres == nil {
		return ""
	}
	return s.Postgres.DSN()
}

// Close stops the hub, then the broker, InfluxDB and PostgreSQL.
func (s *Stack) Close() error {
	var errs []error
	if s.Hub != nil {
		errs = append(errs, s.Hub.Close())
	}
	for _, h := range s.Others {
		errs = append(errs, h.Close())
	}
	if s.Postgres != nil {
		errs = append(errs, s.Postgres.Close())
	}
	if s.Mosq != nil {
		errs = append(errs, s.Mosq.Close())
	}
	if s.Influxd != nil {
		errs = append(errs, s.Influxd.Close())
	}
	return errors.Join(errs...)
}

// pids are the processes whose CPU the scenarios account for.
func (s *Stack) pids() map[string]int {
	m := map[string]int{"bench": 0}
	if s.Hub != nil {
		m["hub"] = s.Hub.Proc.Pid()
	}
	for i, h := range s.Others {
		m["hub-"+string(rune('b'+i))] = h.Proc.Pid()
	}
	if s.Mosq != nil {
		m["mosquitto"] = s.Mosq.Proc.Pid()
	}
	if s.Influxd != nil {
		m["influxd"] = s.Influxd.Proc.Pid()
	}
	return m
}

// cpuSnapshot reads the CPU time of every process of the stack;
// PostgreSQL's is the server's and all its backends'.
func (s *Stack) cpuSnapshot() map[string]time.Duration {
	out := map[string]time.Duration{}
	for name, pid := range s.pids() {
		if st, err := bench.ReadProcStat(pid); err == nil {
			out[name] = st.CPU
		}
	}
	if s.Postgres != nil {
		if cpu, err := bench.ReadTreeCPU(s.Postgres.Proc.Pid()); err == nil {
			out["postgres"] = cpu
		}
	}
	return out
}

// benchRules keep supervision and escalation out of the way of the
// throughput and latency scenarios: no device falls silent during a run,
// and an unanswered press does not escalate (which would send the consoles
// extra changes the scenarios do not time).
const benchRules = `{"supervision": {"sos_button": {"reporting": "24h"}, "smoke": {"reporting": "24h"}, "gas": {"reporting": "24h"}},
 "escalation": {"critical": {"t1": "0s", "t2": "0s", "reminder": "0s"}}}`
