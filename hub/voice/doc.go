// Package voice relays one-button voice calls between a resident's device
// and an operator's browser. The hub is a WebRTC peer on both legs (pion):
// the device offers over MQTT (non-trickle, call/offer), the hub answers and
// the call rings; an operator's browser offers through the console and the
// hub answers it; from then on the hub copies Opus RTP from each leg to the
// other and records each direction as an Ogg/Opus file under
// DataDir/calls/<call id>/.
//
// The package owns github.com/pion/webrtc/v3: one webrtc.API is built per
// Manager from a MediaEngine that speaks Opus only and a SettingEngine that
// carries the ICE timeouts, the UDP port range, the 1:1 NAT addresses and a
// logger adapted to slog. DTLS is left exactly as WebRTC requires it:
// certificate fingerprints are always verified.
//
// Every goroutine the package starts belongs to a call and ends with it;
// Manager.Close ends every call and waits for all of them.
package voice
