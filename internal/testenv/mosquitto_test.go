package testenv_test

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shouwang-hub/shouwang/internal/testenv"
)

func TestMosquittoAcceptsConnections(t *testing.T) {
	start := time.Now()
	m := testenv.Mosquitto(t, testenv.MosquittoOptions{})
	t.Logf("mosquitto ready in %s", time.Since(start))

	if !strings.HasPrefix(m.URL(), "tcp://127.0.0.1:") || strings.TrimPrefix(m.URL(), "tcp://") != m.Addr() {
		t.Fatalf("URL() = %q, Addr() = %q", m.URL(), m.Addr())
	}
	rc, err := connack(m.Addr(), "raw", "", "")
	if err != nil {
		t.Fatalf("raw MQTT connect: %v", err)
	}
	if rc != 0 {
		t.Fatalf("anonymous CONNACK code = %d, want 0", rc)
	}
}

func TestMosquittoStopStart(t *testing.T) {
	m := testenv.Mosquitto(t, testenv.MosquittoOptions{})
	url := m.URL()
	m.Stop()
	if c, err := net.Dial("tcp", m.Addr()); err == nil {
		c.Close()
		t.Fatal("the port still accepts connections after Stop")
	}
	m.Start()
	if m.URL() != url {
		t.Fatalf("URL after restart = %q, want %q", m.URL(), url)
	}
	if rc, err := connack(m.Addr(), "raw", "", ""); err != nil || rc != 0 {
		t.Fatalf("connect after restart: code %d, %v", rc, err)
	}
	m.Kill()
	m.Start()
	if rc, err := connack(m.Addr(), "raw", "", ""); err != nil || rc != 0 {
		t.Fatalf("connect after kill and restart: code %d, %v", rc, err)
	}
}

// TestMosquittoKeepsQueuedMessages checks the queue limits: more QoS 1
// messages than mosquitto's defaults would queue for an offline persistent
// subscriber (max_queued_messages 1000 plus the in-flight window) survive a
// broker restart and all arrive, in order.
func TestMosquittoKeepsQueuedMessages(t *testing.T) {
	const n = 2500
	m := testenv.Mosquitto(t, testenv.MosquittoOptions{})

	sub := dial(t, m.URL(), "hub", "", "", false)
	sub.subscribe(t, "q/#")
	sub.Disconnect(100)

	pub := dial(t, m.URL(), "device", "", "", true)
	for i := range n {
		tok := pub.Publish("q/x", 1, false, fmt.Sprint(i))
		if i == n-1 && (!tok.WaitTimeout(30*time.Second) || tok.Error() != nil) {
			t.Fatalf("publish: %v", tok.Error())
		}
	}
	pub.Disconnect(100)

	m.Stop()
	m.Start()

	sub = dial(t, m.URL(), "hub", "", "", false)
	for i := range n {
		if got := sub.next(t); got.payload != fmt.Sprint(i) {
			t.Fatalf("message %d: got %q on %s, want %q", i, got.payload, got.topic, fmt.Sprint(i))
		}
	}
}

// TestMosquittoSavesEverySecond checks the autosave setting: a message
// queued for an offline subscriber reaches the database on disk within a
// few seconds without a shutdown, so it survives SIGKILL.
func TestMosquittoSavesEverySecond(t *testing.T) {
	m := testenv.Mosquitto(t, testenv.MosquittoOptions{})
	sub := dial(t, m.URL(), "hub", "", "", false)
	sub.subscribe(t, "q/#")
	sub.Disconnect(100)

	pub := dial(t, m.URL(), "device", "", "", true)
	pub.publish(t, "q/x", "queued-before-crash")
	pub.Disconnect(100)

	// mosquitto acknowledges before it saves, so wait for the save itself.
	db := filepath.Join(m.Dir(), "mosquitto.db")
	deadline := time.Now().Add(10 * time.Second)
	for {
		b, _ := os.ReadFile(db)
		if bytes.Contains(b, []byte("queued-before-crash")) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s does not hold the queued message after 10 s: autosave is not working", db)
		}
		time.Sleep(20 * time.Millisecond) // polling a file: there is no event to wait on
	}

	m.Kill()
	m.Start()
	sub = dial(t, m.URL(), "hub", "", "", false)
	if got := sub.next(t); got != (message{"q/x", "queued-before-crash"}) {
		t.Fatalf("after SIGKILL and restart got %q on %s", got.payload, got.topic)
	}
}

func TestMosquittoExtraConfig(t *testing.T) {
	// A later line overrides: refuse anonymous clients through Extra.
	m := testenv.Mosquitto(t, testenv.MosquittoOptions{Extra: "allow_anonymous false"})
	rc, err := connack(m.Addr(), "raw", "", "")
	if err != nil {
		t.Fatalf("raw MQTT connect: %v", err)
	}
	if rc == 0 {
		t.Fatal("anonymous client accepted, want refused by Extra")
	}
}
