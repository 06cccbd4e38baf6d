package devices

// The codec seam. Devices reach the hub in several dialects: the native
// protocol v1, Zigbee2MQTT bridges, Shelly devices. Each is a Codec: it
// declares the topic filters the hub reads (each in a lane), the topics an
// account of its kind may use (the broker's ACL, see Policy), and turns a
// topic and payload into the same normalised Message the native decoder
// produces. Ingest, the hub's subscriptions and the broker's ACL are all
// derived from the codecs in use, so no source is written down twice.

// Source names a codec.
type Source string

// Sources.
const (
	SourceNative      Source = "native"
	SourceZigbee2MQTT Source = "zigbee2mqtt"
	SourceShelly      Source = "shelly"
)

// Sources lists every source the domain knows, in a stable order.
var Sources = []Source{SourceNative, SourceZigbee2MQTT, SourceShelly}

// Valid reports whether s names a known source ("" counts as native).
func (s Source) Valid() bool {
	return s == "" || s == SourceNative || s == SourceZigbee2MQTT || s == SourceShelly
}

// Lane says which of the hub's MQTT sessions reads a filter.
type Lane string

// Lanes.
const (
	// LaneAlarm is life-safety traffic: anything that may carry an alarm,
	// a press, a status or a call. It is read on the hub's priority
	// session, by every hub instance.
	LaneAlarm Lane = "alarm"
	// LaneTelemetry is readings only, which may be shared among hubs.
	LaneTelemetry Lane = "telemetry"
)

// Subscription is one topic filter the hub reads, and its lane.
type Subscription struct {
	Filter string
	Lane   Lane
}

// Codec is one source of device messages. Roots name where a vendor
// source's topics live (a Zigbee2MQTT bridge's base topic, a Shelly's
// prefix); the native codec has one implicit root, TopicPrefix.
type Codec interface {
	// Source names the codec.
	Source() Source
	// Subscriptions are the filters the hub reads under root.
	Subscriptions(root string) []Subscription
	// ClientRules are what the account id, speaking this codec under
	// root, may publish and read.
	ClientRules(id, root string) []TopicRule
	// ServiceRules are what the hub may publish and read under root.
	ServiceRules(root string) []TopicRule
}

// Native is the codec of native protocol v1. Its decoding is Decode; its
// topics are those of ParseTopic.
var Native Codec = nativeCodec{}

type nativeCodec struct{}

func (nativeCodec) Source() Source { return SourceNative }

// Subscriptions: events, status and the call signalling the hub answers
// are alarm-lane; telemetry is readings.
func (nativeCodec) Subscriptions(string) []Subscription {
	each := TopicPrefix + "+/"
	return []Subscription{
		{each + string(ChannelEvent), LaneAlarm},
		{each + string(ChannelStatus), LaneAlarm},
		{each + string(ChannelCall) + "/offer", LaneAlarm},
		{each + string(ChannelCall) + "/hangup", LaneAlarm},
		{each + string(ChannelTelemetry), LaneTelemetry},
	}
}

// ClientRules: a device publishes its uplink channels and call signalling
// under its own prefix and reads its cmd topic and call signalling.
func (nativeCodec) ClientRules(id, _ string) []TopicRule {
	own := TopicPrefix + id + "/"
	return []TopicRule{
		{Filter: own + string(ChannelEvent), Access: AccessWrite},
		{Filter: own + string(ChannelTelemetry), Access: AccessWrite},
		{Filter: own + string(ChannelStatus), Access: AccessWrite},
		{Filter: own + string(ChannelCall) + "/+/#", Access: AccessWrite},
		{Filter: own + string(ChannelCmd), Access: AccessRead},
		{Filter: own + string(ChannelCall) + "/#", Access: AccessRead},
	}
}

// idLevel is the level of the device ID in a native topic.
const idLevel = 2

// ServiceRules: the hub reads every device's uplink channels and call
// signalling, and publishes commands and call signalling to any device.
func (nativeCodec) ServiceRules(string) []TopicRule {
	each := TopicPrefix + "+/"
	return []TopicRule{
		{Filter: each + string(ChannelEvent), Access: AccessRead, IDLevel: idLevel},
		{Filter: each + string(ChannelTelemetry), Access: AccessRead, IDLevel: idLevel},
		{Filter: each + string(ChannelStatus), Access: AccessRead, IDLevel: idLevel},
		{Filter: each + string(ChannelCall) + "/#", Access: AccessRead, IDLevel: idLevel},
		{Filter: each + string(ChannelCall) + "/+/#", Access: AccessWrite, IDLevel: idLevel},
		{Filter: each + string(ChannelCmd), Access: AccessWrite, IDLevel: idLevel},
	}
}
