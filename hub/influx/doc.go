// Package influx is the hub's adapter to InfluxDB: it formats telemetry as
// line protocol, drains the durable outbox (a Spool) into InfluxDB in order
// without losing a line, and reads telemetry history back with Flux.
//
// It owns github.com/influxdata/influxdb-client-go/v2 and speaks the v2 API,
// which InfluxDB 1.8 serves as a compatibility layer: there the bucket is
// "database/retention-policy", the token is "user:password" (or empty when
// authentication is off) and the organisation is ignored. The same code
// works against InfluxDB 2.x with a real bucket, token and organisation.
// Flux queries on 1.8 need flux-enabled = true in the [http] section.
package influx
