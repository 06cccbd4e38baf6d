package sim

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/shouwang-hub/shouwang/devices"
	"github.com/shouwang-hub/shouwang/hub/mqttc"
)

// VendorSim plays the demo's vendor devices: each bridge as Zigbee2MQTT
// does (a retained bridge/state with its will on it, the retained
// bridge/devices list, each device's retained availability, and the
// device's whole state on every report), and each Shelly Gas as its
// firmware does (online with its will, sensor/operation, sensor/gas,
// sensor/concentration).
type VendorSim struct {
	v     *Vendors
	url   string
	tls   *tls.Config
	every time.Duration
	log   *slog.Logger
	rng   *rand.Rand

	mu      sync.Mutex
	clients map[string]mqtt.Client  // by bridge or Shelly ID
	states  map[string]*vendorState // by device ID
	owner   map[string]string       // device ID → the client that speaks for it
	prefix  map[string]string       // device ID → topic it publishes its state on
	zigbee  map[string]*ZigbeeSpec  // device ID → spec
	shellys map[string]*ShellySpec  // device ID → spec
}

// vendorState is one simulated device's state.
type vendorState struct {
	alarm   bool
	test    bool
	battery float64
	r       *readings
}

// NewVendorSim prepares v's devices; Run connects them.
func NewVendorSim(v *Vendors, brokerURL string, tc *tls.Config, every time.Duration, log *slog.Logger) *VendorSim {
	s := &VendorSim{v: v, url: brokerURL, tls: tc, every: every, log: log, rng: rand.New(rand.NewPCG(1, 2)),
		clients: map[string]mqtt.Client{}, states: map[string]*vendorState{}, owner: map[string]string{},
		prefix: map[string]string{}, zigbee: map[string]*ZigbeeSpec{}, shellys: map[string]*ShellySpec{}}
	for i := range v.Bridges {
		b := &v.Bridges[i]
		for j := range b.Zigbee {
			z := &b.Zigbee[j]
			s.zigbee[z.Device.ID] = z
			s.owner[z.Device.ID] = b.Device.ID
			s.prefix[z.Device.ID] = b.Device.Address + "/" + z.Name
			s.states[z.Device.ID] = &vendorState{battery: 60 + float64(s.rng.IntN(40)), r: newReadings(z.Device.Kind, s.rng)}
		}
	}
	for i := range v.Shellys {
		sh := &v.Shellys[i]
		s.shellys[sh.Device.ID] = sh
		s.owner[sh.Device.ID] = sh.Device.ID
		s.states[sh.Device.ID] = &vendorState{r: newReadings(devices.KindGas, s.rng)}
	}
	return s
}

// Has reports whether id is one of the simulated vendor devices.
func (s *VendorSim) Has(id string) bool { _, ok := s.owner[id]; return ok }

// Run connects every bridge and Shelly and reports until ctx is done.
func (s *VendorSim) Run(ctx context.Context) error {
	for _, b := range s.v.Bridges {
		base := b.Device.Address
		if err := s.connect(ctx, b.Device.ID, b.Password, base+"/bridge/state", `{"state":"offline"}`, func(c mqtt.Client) {
			pub(c, base+"/bridge/state", `{"state":"online"}`, true)
			pub(c, base+"/bridge/devices", s.bridgeDevices(b), true)
			for _, z := range b.Zigbee {
				pub(c, base+"/"+z.Name+"/availability", `{"state":"online"}`, true)
			}
		}); err != nil {
			return err
		}
	}
	for _, sh := range s.v.Shellys {
		p := sh.Device.Address
		if err := s.connect(ctx, sh.Device.ID, sh.Password, p+"/online", "false", func(c mqtt.Client) {
			pub(c, p+"/online", "true", true)
			pub(c, p+"/sensor/operation", "normal", false)
		}); err != nil {
			return err
		}
	}
	t := time.NewTicker(s.every)
	defer t.Stop()
	for {
		s.reportAll()
		select {
		case <-ctx.Done():
			s.mu.Lock()
			for _, c := range s.clients {
				c.Disconnect(250)
			}
			s.mu.Unlock()
			return nil
		case <-t.C:
		}
	}
}

func (s *VendorSim) connect(ctx context.Context, id, password, will, willPayload string, onConnect func(mqtt.Client)) error {
	o := mqtt.NewClientOptions().AddBroker(s.url).SetClientID(id).SetUsername(id).SetPassword(password).
		SetTLSConfig(s.tls).SetCleanSession(true).SetAutoReconnect(true).SetConnectRetry(true).
		SetMaxReconnectInterval(30*time.Second).SetWill(will, willPayload, 1, true).
		SetOnConnectHandler(onConnect).
		SetStore(mqttc.NewStore()) // paho resumes after a reconnect even with a clean session
	c := mqtt.NewClient(o)
	tok := c.Connect()
	select {
	case <-tok.Done():
	case <-ctx.Done():
		return ctx.Err()
	}
	if err := tok.Error(); err != nil {
		return fmt.Errorf("connect %s: %w", id, err)
	}
	s.mu.Lock()
	s.clients[id] = c
	s.mu.Unlock()
	return nil
}

// pub publishes at QoS 1 without waiting: the simulator goes on reporting.
func pub(c mqtt.Client, topic, payload string, retained bool) { c.Publish(topic, 1, retained, payload) }

func (s *VendorSim) bridgeDevices(b BridgeSpec) string {
	list := []map[string]any{{"ieee_address": "0x00124b0000000001", "type": "Coordinator", "friendly_name": "Coordinator",
		"supported": true, "definition": nil, "interview_completed": true}}
	for _, z := range b.Zigbee {
		list = append(list, map[string]any{"ieee_address": z.Device.Address, "friendly_name": z.Name, "type": "EndDevice",
			"supported": true, "interview_completed": true, "power_source": "Battery",
			"definition": map[string]any{"model": z.Device.Model, "vendor": "", "description": string(z.Device.Kind), "exposes": []any{}}})
	}
	raw, _ := json.Marshal(list)
	return string(raw)
}

func (s *VendorSim) reportAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for id := range s.owner {
		s.reportLocked(id, "")
	}
}

// reportLocked publishes device id's state; action is a press to report
// with it. s.mu is held.
func (s *VendorSim) reportLocked(id, action string) {
	c := s.clients[s.owner[id]]
	st := s.states[id]
	if c == nil || st == nil {
		return
	}
	st.r.next(s.rng)
	if sh, ok := s.shellys[id]; ok {
		p := sh.Device.Address
		gas := "none"
		if st.alarm {
			gas = "mild"
		}
		pub(c, p+"/sensor/gas", gas, false)
		ppm := 0.0
		if st.alarm {
			ppm = 1200
		}
		pub(c, p+"/sensor/concentration", fmt.Sprintf("%.0f", ppm), false)
		return
	}
	z := s.zigbee[id]
	state := map[string]any{"linkquality": 60 + s.rng.IntN(120)}
	switch z.Device.Model {
	case "TS0215A_sos":
		state["battery"], state["voltage"], state["action"] = st.battery, 2900, action
	case "HS1EB/HS1EB-E":
		if action != "" {
			action = "single"
		}
		state["battery"], state["action"] = st.battery, action
	case "HS1SA-E":
		state["battery"], state["battery_low"], state["smoke"], state["test"] = st.battery, false, st.alarm, st.test
	case "JT-BZ-01AQ/A":
		lel := 0.0
		if st.alarm {
			lel = 18
		}
		state["gas"], state["gas_density"], state["test"], state["state"] = st.alarm, lel, st.test, "work"
		state["gas_sensitivity"], state["buzzer_manual_mute"], state["linkage_alarm"] = "15%LEL", false, true
	case "HS1CA-E":
		state["battery"], state["battery_low"], state["carbon_monoxide"] = st.battery, false, st.alarm
	case "TS0601_smart_air_house_keeper":
		v := st.r.values
		state["temperature"], state["humidity"], state["co2"], state["pm25"] = v["temperature"], v["humidity"], v["co2"], v["pm25"]
		state["voc"], state["formaldehyd"] = 50+s.rng.IntN(200), 5+s.rng.IntN(40)
	}
	raw, _ := json.Marshal(state)
	pub(c, s.prefix[id], string(raw), false)
	if action != "" { // the reset Zigbee2MQTT sends after an action
		state["action"] = ""
		raw, _ = json.Marshal(state)
		pub(c, s.prefix[id], string(raw), false)
	}
}

// Trigger acts on a vendor device as `devsim trigger` names actions:
// press, smoke, smoke-clear, gas, gas-clear (co and co-clear for a CO
// alarm), test (a self-test: the alarm sounds as a test).
func (s *VendorSim) Trigger(action, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.states[id]
	if st == nil {
		return fmt.Errorf("%s is not a simulated vendor device", id)
	}
	switch action {
	case "press":
		s.reportLocked(id, "emergency")
		return nil
	case "smoke", "gas", "co":
		st.alarm = true
	case "smoke-clear", "gas-clear", "co-clear":
		st.alarm = false
	case "test":
		st.test, st.alarm = true, true
		s.reportLocked(id, "")
		st.test, st.alarm = false, false
	default:
		return fmt.Errorf("action %q does not apply to vendor device %s", action, id)
	}
	s.reportLocked(id, "")
	return nil
}

// Handler serves triggers for the vendor devices at the control endpoint
// (POST /v1/{action}/{id}) and hands everything else to next.
func (s *VendorSim) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var action, id string
		if r.Method == http.MethodPost {
			fmt.Sscanf(r.URL.Path, "/v1/%s", &action)
		}
		if i := lastSlash(action); i > 0 {
			action, id = action[:i], action[i+1:]
		}
		if id == "" || !s.Has(id) {
			next.ServeHTTP(w, r)
			return
		}
		if err := s.Trigger(action, id); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
			return
		}
		writeJSON(w, http.StatusOK, TriggerResult{ID: id, Action: action, Note: "vendor device state published"})
	})
}

func lastSlash(s string) int {
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == '/' {
			return i
		}
	}
	return -1
}
