// Package sim simulates a community of Shouwang devices speaking native
// protocol v1 over MQTT: emergency call buttons, smoke and gas detectors and
// air monitors. Each simulated device is its own MQTT client with its own
// credentials and last will, as a real device is, so the hub sees exactly
// what a real installation would send.
//
// The package generates demo communities (Community), registers them through
// the console's import API (Register), keeps their credentials on disk
// (SaveCredentials, LoadCredentials) and runs them (Sim): periodic telemetry
// with jitter, and on-demand presses, alarms, leaks and outages that tests,
// the devsim command and the benchmark program trigger.
//
// Voice calls (Sim.Call, AnswerAsConsole): a device offers a WebRTC call
// over its own call/ topics and streams a short spoken Opus clip
// (testdata/voice/clip.ogg, made by scripts/make-voice-clip) while recording
// what it hears; AnswerAsConsole is the operator's side as a pion peer, for
// Go tests and the benchmark.
//
// Sequence numbers: seq is per device and strictly increasing across all of
// its messages. Nothing is persisted; a Sim starts every device's counter at
// the Unix time in milliseconds when the Sim was created (Config.SeqStart
// overrides it) and adds one per message, so a rerun starts above where the
// last run ended as long as no device sent more than one message per
// millisecond of wall time between the runs' starts.
package sim
