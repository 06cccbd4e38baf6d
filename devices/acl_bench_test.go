package devices

import "testing"

func BenchmarkServiceMayRead(b *testing.B) {
	pol := NewPolicy()
	svc := Principal{Role: RoleService, Roots: []Root{{Source: SourceZigbee2MQTT, Root: "zigbee2mqtt"}}}
	b.ReportAllocs()
	for b.Loop() {
		if ok, _ := pol.MayRead(svc, "shouwang/v1/gas-0001/telemetry"); !ok {
			b.Fatal("refused")
		}
	}
}

func BenchmarkDeviceMayPublish(b *testing.B) {
	pol := NewPolicy()
	d := Principal{Role: RoleDevice, ID: "gas-0001", Source: SourceNative}
	b.ReportAllocs()
	for b.Loop() {
		if ok, _ := pol.MayPublish(d, "shouwang/v1/gas-0001/telemetry"); !ok {
			b.Fatal("refused")
		}
	}
}

func BenchmarkCompiledServiceMayRead(b *testing.B) {
	acl := NewPolicy().Compile(Principal{Role: RoleService, Roots: []Root{{Source: SourceZigbee2MQTT, Root: "zigbee2mqtt"}}})
	b.ReportAllocs()
	for b.Loop() {
		if ok, _ := acl.MayRead("shouwang/v1/gas-0001/telemetry"); !ok {
			b.Fatal("refused")
		}
	}
}

func BenchmarkCompiledDeviceMayPublish(b *testing.B) {
	acl := NewPolicy().Compile(Principal{Role: RoleDevice, ID: "gas-0001", Source: SourceNative})
	b.ReportAllocs()
	for b.Loop() {
		if ok, _ := acl.MayPublish("shouwang/v1/gas-0001/telemetry"); !ok {
			b.Fatal("refused")
		}
	}
}
