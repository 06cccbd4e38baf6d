// Package hub is Shouwang's running engine: it takes device messages from
// MQTT, checks them against the registry, stores them durably and only then
// acknowledges them, and feeds telemetry to InfluxDB through a durable
// spool. The sub-packages are its adapters, each owning one dependency:
// broker (embedded mochi-mqtt), mqttc (the paho client), influx
// (influxdb-client-go) and sqlstore (SQLite).
package hub
