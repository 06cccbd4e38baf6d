package main

import (
	"context"
	"errors"
	"fmt"
	"maps"

	"github.com/shouwang-hub/shouwang"
	"github.com/shouwang-hub/shouwang/console"
	"github.com/shouwang-hub/shouwang/devices"
	"github.com/shouwang-hub/shouwang/devices/vendors"
	"github.com/shouwang-hub/shouwang/hub"
	"github.com/shouwang-hub/shouwang/hub/brokeracct"
	"github.com/shouwang-hub/shouwang/hub/sqlstore"
)

// BrokerSettings are how an external production broker gets the
// registry's accounts and the topic policy.
type BrokerSettings struct {
	// EMQXSecret enables the endpoints of EMQX's HTTP authenticator and
	// authorizer; EMQX sends it as "Authorization: Bearer <secret>".
	EMQXSecret string
	// MosquittoDir is where the hub keeps mosquitto's password and ACL
	// files, rewritten on every registry change.
	MosquittoDir string
	// MosquittoPIDFile is mosquitto's PID file: SIGHUP after each write.
	MosquittoPIDFile string
}

// minEMQXSecret is the shortest shared secret taken: it guards every
// device's password check.
const minEMQXSecret = 16

func init() {
	maps.Copy(env, map[string]string{
		"emqx-secret":       "HUB_EMQX_SECRET",
		"mosquitto-dir":     "HUB_MOSQUITTO_DIR",
		"mosquitto-pidfile": "HUB_MOSQUITTO_PIDFILE",
	})
}

// brokerFlags registers the external broker's account settings.
func brokerFlags(str func(p *string, name, def, usage string), c *Config) {
	str(&c.Broker.EMQXSecret, "emqx-secret", "", "shared secret of the EMQX HTTP authenticator and authorizer endpoints (/api/v1/broker/emqx/authn, /authz); empty: off")
	str(&c.Broker.MosquittoDir, "mosquitto-dir", "", "directory where the hub keeps mosquitto's password and ACL files (passwd, acl), rewritten on every registry change; empty: off")
	str(&c.Broker.MosquittoPIDFile, "mosquitto-pidfile", "", "mosquitto's PID file: the hub sends it SIGHUP after writing the files (empty: reload it another way)")
}

// validateBroker checks the broker account settings, naming the bad one.
func (c Config) validateBroker() error {
	b := c.Broker
	if b.EMQXSecret != "" && len(b.EMQXSecret) < minEMQXSecret {
		return fmt.Errorf("-emqx-secret / HUB_EMQX_SECRET: at least %d characters (it guards every device's password check)", minEMQXSecret)
	}
	if (b.EMQXSecret != "" || b.MosquittoDir != "") && c.MQTTURL == "" {
		return errors.New("-emqx-secret / HUB_EMQX_SECRET and -mosquitto-dir / HUB_MOSQUITTO_DIR are for an external broker (-mqtt-url); the embedded one reads the registry itself")
	}
	if b.MosquittoPIDFile != "" && b.MosquittoDir == "" {
		return errors.New("-mosquitto-pidfile / HUB_MOSQUITTO_PIDFILE: only with -mosquitto-dir / HUB_MOSQUITTO_DIR")
	}
	return nil
}

// brokerAccts are the running pieces: the accounts in memory and the
// mosquitto files' writer, when configured.
type brokerAccts struct {
	accounts  *brokeracct.Accounts
	mosquitto *brokeracct.Mosquitto
}

// accountSource reads broker accounts from the store.
type accountSource struct{ store *sqlstore.Store }

func (s accountSource) LoadAccounts(ctx context.Context, fn func(brokeracct.Account) error) error {
	return s.store.LoadCredentials(ctx, func(d *devices.Device, hash string) error {
		return fn(brokeracct.Account{Principal: hub.PrincipalOf(d), Hash: hash})
	})
}

func (s accountSource) Account(ctx context.Context, id string) (brokeracct.Account, bool, error) {
	d, err := s.store.FindDevice(ctx, id)
	if shouwang.ErrorCode(err) == shouwang.ENOTFOUND {
		return brokeracct.Account{}, false, nil
	} else if err != nil {
		return brokeracct.Account{}, false, err
	}
	hash, err := s.store.PasswordHash(ctx, id)
	if shouwang.ErrorCode(err) == shouwang.ENOTFOUND {
		return brokeracct.Account{}, false, nil
	} else if err != nil {
		return brokeracct.Account{}, false, err
	}
	return brokeracct.Account{Principal: hub.PrincipalOf(d), Hash: hash}, true, nil
}

// newAccounts returns the registry's broker accounts, loaded.
func (m *Main) newAccounts(ctx context.Context) (*brokeracct.Accounts, error) {
	a, err := brokeracct.New(brokeracct.Config{
		Source: accountSource{m.store}, Policy: vendors.Policy, Roots: m.routes.Roots,
		ServiceUser: m.Config.MQTTUsername, ServicePassword: m.Config.MQTTPassword,
	}, m.Logger.With("part", "broker-accounts"))
	if err != nil {
		return nil, err
	}
	return a, a.Load(ctx)
}

// startBrokerAccounts loads the accounts when an external broker is to be
// given them, and writes mosquitto's files before the hub connects to it
// (on a first start mosquitto may know no account yet, the hub's own
// included).
func (m *Main) startBrokerAccounts(ctx context.Context) error {
	b := m.Config.Broker
	if b.EMQXSecret == "" && b.MosquittoDir == "" {
		return nil
	}
	a, err := m.newAccounts(ctx)
	if err != nil {
		return err
	}
	m.accts.accounts = a
	m.Logger.Info("broker accounts loaded", "accounts", a.Len(), "emqx", b.EMQXSecret != "", "mosquitto_dir", b.MosquittoDir)
	if b.MosquittoDir == "" {
		return nil
	}
	if m.accts.mosquitto, err = a.NewMosquitto(brokeracct.MosquittoConfig{Dir: b.MosquittoDir, PIDFile: b.MosquittoPIDFile}); err != nil {
		return fmt.Errorf("-mosquitto-dir / HUB_MOSQUITTO_DIR: %w", err)
	}
	if err := m.accts.mosquitto.Sync(); err != nil {
		return fmt.Errorf("-mosquitto-dir / HUB_MOSQUITTO_DIR: %w", err)
	}
	m.goRun(func() { m.accts.mosquitto.Run(ctx) })
	return nil
}

// brokerAccountsChanged follows a registry change into the accounts (the
// mosquitto writer then rewrites its files).
func (m *Main) brokerAccountsChanged(ctx context.Context, id string) {
	if m.accts.accounts == nil {
		return
	}
	if err := m.accts.accounts.Changed(ctx, id); err != nil {
		m.Logger.Error("refresh the broker accounts", "device", id, "err", err)
	}
}

// consoleBroker gives the console the EMQX endpoints and the mosquitto
// export.
func (m *Main) consoleBroker(cfg *console.Config) {
	if a := m.accts.accounts; a != nil && m.Config.Broker.EMQXSecret != "" {
		cfg.BrokerAuth = a.EMQXHandler(m.Config.Broker.EMQXSecret)
	}
	cfg.MosquittoFiles = m.mosquittoExport
}

// mosquittoExport renders mosquitto's files from the registry as it is now,
// for an administrator setting mosquitto up by hand (hubctl broker export).
func (m *Main) mosquittoExport(ctx context.Context) (console.BrokerFiles, error) {
	a := m.accts.accounts
	if a == nil {
		var err error
		if a, err = m.newAccounts(ctx); err != nil {
			return console.BrokerFiles{}, err
		}
	}
	passwd, acl := a.MosquittoFiles()
	f := console.BrokerFiles{Passwd: string(passwd), ACL: string(acl)}
	if m.Config.MQTTURL == "" || m.Config.MQTTPassword == "" {
		f.Notes = append(f.Notes, fmt.Sprintf("the hub's own account %q has no line in the password file: add it with mosquitto_passwd, and start the hub with -mqtt-username %s -mqtt-password …", m.Config.MQTTUsername, m.Config.MQTTUsername))
	}
	return f, nil
}

// registerBrokerMetrics exports the EMQX endpoints' answers.
func (m *Main) registerBrokerMetrics() {
	a := m.accts.accounts
	if a == nil || m.Config.Broker.EMQXSecret == "" {
		return
	}
	for _, kind := range []string{"authn", "authz"} {
		for _, result := range []string{brokeracct.Allow, brokeracct.Deny, brokeracct.Ignore} {
			m.metrics.LabeledCounterFunc("shouwang_broker_auth_answers_total", "Answers to the external broker's HTTP authentication (authn) and authorization (authz) requests, by result.",
				map[string]string{"kind": kind, "result": result}, func() float64 {
					st := a.Stats()
					if kind == "authn" {
						return float64(st.Authn[result])
					}
					return float64(st.Authz[result])
				})
		}
	}
	m.metrics.CounterFunc("shouwang_broker_auth_refused_total", "Broker authentication and authorization requests refused: no or a wrong shared secret, or not JSON.", func() float64 { return float64(a.Stats().Refused) })
}
