// Package deploy holds what running the hub as a service takes besides the
// binary: the systemd unit (systemd/), Prometheus alerting rules for the
// hub's own health (prometheus/), and reverse-proxy configurations (nginx/,
// caddy/). It has no code; its tests check the files with the programs that
// will read them: systemd-analyze, promtool (and nginx, in cmd/hub's
// TestBehindNginx).
package deploy
