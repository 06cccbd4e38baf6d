package mqttc

// The session's subscriptions and the connection's state: what the Client
// does when paho connects, loses or regains the connection.

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
)

func (c *Client) onConnect(paho.Client) {
	c.log.Debug("mqtt connected", "broker", c.cfg.URL)
	if c.unsubscribe() && c.subscribe() {
		c.subOnce.Do(func() { close(c.subscribed) })
		c.notify(true)
		c.subscribeOptional()
	}
}

// subscribeOptional makes the Optional subscriptions once, logging a
// refusal.
func (c *Client) subscribeOptional() {
	if len(c.cfg.Optional) == 0 {
		return
	}
	filters := make(map[string]byte, len(c.cfg.Optional))
	for _, f := range c.cfg.Optional {
		filters[f] = 0
	}
	if err := c.subscribeOnce(filters); err != nil {
		c.log.Warn("mqtt optional subscription not made; going on without it", "filters", c.cfg.Optional, "err", err)
	}
}

// unsubscribe removes the filters of Config.Unsubscribe, retrying while
// this connection lasts. It reports whether that is done.
func (c *Client) unsubscribe() bool {
	if len(c.cfg.Unsubscribe) == 0 {
		return true
	}
	return c.retry("unsubscribe", func() error {
		tok := c.paho.Unsubscribe(c.cfg.Unsubscribe...)
		select {
		case <-tok.Done():
		case <-time.After(c.cfg.ConnectTimeout):
			return errors.New("unsubscribe: no UNSUBACK in time")
		}
		if err := tok.Error(); err != nil {
			return fmt.Errorf("unsubscribe: %w", err)
		}
		return nil
	})
}

// subscribe makes the subscriptions, retrying while this connection lasts.
// It reports whether the subscriptions are in place.
func (c *Client) subscribe() bool {
	c.subsMu.Lock()
	subs := slices.Clone(c.cfg.Subscriptions)
	c.subsMu.Unlock()
	if len(subs) == 0 { // a publisher only
		return true
	}
	filters := make(map[string]byte, len(subs))
	for _, f := range subs {
		filters[f] = 1
	}
	// mosquitto, for one, refuses a SUBSCRIBE whose packet ID equals one
	// of the messages it is redelivering (0x91); a retry gets a new ID.
	return c.retry("subscribe", func() error { return c.subscribeOnce(filters) })
}

// retry runs op until it succeeds, backing off, while this connection
// lasts; a failure is logged and remembered for Start's error. It reports
// whether op succeeded (false: stopped, or the connection was lost and the
// next OnConnect starts again).
func (c *Client) retry(what string, op func() error) bool {
	backoff := 500 * time.Millisecond
	for {
		err := op()
		if err == nil {
			return true
		}
		c.setLastErr(err)
		c.log.Warn("mqtt "+what+" failed; retrying", "err", err, "in", backoff)
		select {
		case <-c.quit:
			return false
		case <-time.After(backoff):
		}
		if !c.paho.IsConnectionOpen() {
			return false
		}
		backoff = min(2*backoff, 30*time.Second)
	}
}

// AddSubscriptions subscribes to more filters at QoS 1: now, when
// connected, and at every reconnect. Filters already subscribed are left
// as they are. The client must have been made with Subscriptions (a
// Handler); the hub adds the topics of a bridge or Shelly registered while
// it runs.
func (c *Client) AddSubscriptions(ctx context.Context, filters []string) error {
	c.subsMu.Lock()
	var add []string
	for _, f := range filters {
		if f != "" && !slices.Contains(c.cfg.Subscriptions, f) && !slices.Contains(add, f) {
			add = append(add, f)
		}
	}
	c.cfg.Subscriptions = append(c.cfg.Subscriptions, add...)
	c.subsMu.Unlock()
	if len(add) == 0 || !c.paho.IsConnectionOpen() {
		return nil // the next connect subscribes them
	}
	m := make(map[string]byte, len(add))
	for _, f := range add {
		m[f] = 1
	}
	return c.subscribeOnce(m)
}

func (c *Client) subscribeOnce(filters map[string]byte) error {
	tok := c.paho.SubscribeMultiple(filters, nil) // nil: the default handler takes everything
	select {
	case <-tok.Done():
	case <-time.After(c.cfg.ConnectTimeout):
		return errors.New("subscribe: no SUBACK in time")
	}
	if err := tok.Error(); err != nil {
		return fmt.Errorf("subscribe: %w", err)
	}
	if r, ok := tok.(interface{ Result() map[string]byte }); ok {
		for f, code := range r.Result() {
			if code > 2 {
				return fmt.Errorf("subscribe: broker refused %q (return code %#x)", f, code)
			}
		}
	}
	return nil
}

func (c *Client) onConnectionLost(_ paho.Client, err error) {
	c.log.Warn("mqtt connection lost; reconnecting", "broker", c.cfg.URL, "err", err)
	c.notify(false)
}

// onNotification remembers why a connection attempt failed. paho calls it
// synchronously from its connect loop, so it only stores.
func (c *Client) onNotification(_ paho.Client, n paho.ConnectionNotification) {
	switch n := n.(type) {
	case paho.ConnectionNotificationFailed:
		c.setLastErr(n.Reason)
	case paho.ConnectionNotificationBrokerFailed:
		c.setLastErr(n.Reason)
	}
}

func (c *Client) notify(up bool) {
	if c.cfg.OnConnectionChange != nil {
		c.cfg.OnConnectionChange(up)
	}
}

func (c *Client) setLastErr(err error) {
	if err != nil {
		c.lastErr.Store(&err)
	}
}

func (c *Client) lastErrText() string {
	if p := c.lastErr.Load(); p != nil {
		return " (last error: " + (*p).Error() + ")"
	}
	return ""
}
