// Package devices is the domain of the things Shouwang watches over: device
// kinds and their capabilities, where a device is installed and who lives
// there, the native MQTT protocol (topics, payloads and their validation),
// device credentials and the registry interface the hub and the console use.
//
// It imports the standard library and a JSON tokenizer (jsontext) only, so
// the rules it states can be read and tested without a broker, a database or
// a network.
package devices
