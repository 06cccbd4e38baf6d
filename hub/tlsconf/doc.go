// Package tlsconf gives the hub its TLS certificates: the one server
// certificate the console's HTTPS and the embedded broker's MQTT over TLS
// both present, read from files that are re-read when they change (so a
// renewed certificate is served without a restart), or issued by a local
// certificate authority the hub creates under its data directory for a
// street's LAN, where no public name exists.
//
// It uses the standard library only (crypto/tls, crypto/x509): the local CA
// is a few dozen lines of x509.CreateCertificate, and nothing here needs
// more than that.
package tlsconf
