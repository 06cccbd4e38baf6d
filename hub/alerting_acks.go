package hub

import (
	"context"
	"time"

	"github.com/shouwang-hub/shouwang/alerts"
	"github.com/shouwang-hub/shouwang/devices"
)

// Device acknowledgements: what a committed transaction owes the devices
// (alerts.Result.Acks) is queued by committed and published here, after
// the commit and outside it, so a slow broker never holds the store
// (alerting.go, door.go).

// SetPublisher sets where device acknowledgements go (the MQTT client,
// which starts after alerting).
func (a *Alerting) SetPublisher(p Publisher) {
	a.pubMu.Lock()
	a.pub = p
	a.pubMu.Unlock()
}

func (a *Alerting) publishAcks(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			// Shutting down: what is queued was committed, so tell the
			// devices, for a few seconds at most.
			deadline, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			for {
				select {
				case ack := <-a.acks:
					a.publishAck(deadline, ack)
				default:
					return
				}
			}
		case ack := <-a.acks:
			a.publishAck(ctx, ack)
		}
	}
}

func (a *Alerting) publishAck(ctx context.Context, ack alerts.DeviceAck) {
	a.pubMu.RLock()
	p := a.pub
	a.pubMu.RUnlock()
	if p == nil || ctx.Err() != nil {
		return
	}
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := p.Publish(pctx, devices.Topic(ack.DeviceID, devices.ChannelCmd), 1, false, ack.Payload); err != nil {
		a.logger.Warn("acknowledge to device", "device", ack.DeviceID, "err", err)
		return
	}
	a.cfg.Metrics.countAckSent()
}
