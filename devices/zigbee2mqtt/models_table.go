package zigbee2mqtt

import "github.com/shouwang-hub/shouwang/devices"

// The models, each from its definition in zigbee-herdsman-converters
// (src/devices/<file>.ts; the exposes and fromZigbee converters named
// there) and its page at zigbee2mqtt.io/devices/<model>.html. Only the
// properties that matter to a duty room are listed; settings that travel
// in the same state message (silence, alarm_switch, alarm, sensitivity,
// buzzer, linkage_alarm, preheat, state preparation/work, alarm_volume) are
// deliberately absent, so they are never read as alarms.
var models = []*Model{
	// SOS buttons.
	// tuya.ts TS0215A_sos: fz.command_emergency → action "emergency".
	model("TS0215A_sos", "Tuya", devices.KindSOSButton, "tuya.ts", "", props{
		"action": press("emergency"), "battery": battery(),
	}),
	// tuya.ts TS0601_sos: datapoint 1 → action "emergency".
	model("TS0601_sos", "Tuya", devices.KindSOSButton, "tuya.ts", "", props{
		"action": press("emergency"), "battery": battery(),
	}),
	// heiman.ts HS1EB/HS1EB-E: a dedicated emergency button;
	// fz.command_status_change_notification_action gives off (the reset),
	// single, double, hold — every press is an emergency.
	model("HS1EB/HS1EB-E", "Heiman", devices.KindSOSButton, "heiman.ts", "", props{
		"action": press("single", "double", "hold"), "battery": battery(),
	}),
	// orvibo.ts SE21: emergency button, same converter as HS1EB.
	model("SE21", "ORVIBO", devices.KindSOSButton, "orvibo.ts", "", props{
		"action": press("single", "double", "hold"),
	}),
	// orvibo.ts SE20-O: emergency button, action single.
	model("SE20-O", "ORVIBO", devices.KindSOSButton, "orvibo.ts", "", props{
		"action": press("single"),
	}),
	// feibit.ts SEB01ZB: fz.ias_sos_alarm_2 → sos, tamper, battery_low.
	model("SEB01ZB", "Feibit", devices.KindSOSButton, "feibit.ts", "", props{
		"sos": binary(devices.CondSOS), "tamper": tamper(), "battery_low": batteryLow(), "battery": battery(),
	}),
	// heiman.ts HS1RC-N: remote with an emergency key, action "emergency".
	model("HS1RC-N", "Heiman", devices.KindSOSButton, "heiman.ts", "", props{
		"action": press("emergency"), "battery": battery(),
	}),

	// Buttons with a check-in pattern: a generic button registered as an
	// SOS button calls for help on a single press or a hold, and checks in
	// (报平安) on a double press. Dedicated emergency buttons above have
	// no check-in pattern: every press of them is an SOS.
	// tuya.ts TS0041: one-button wireless switch, tuya.fz.on_off_action →
	// action single, double, hold.
	model("TS0041", "Tuya", devices.KindSOSButton, "tuya.ts", "", props{
		"action": buttons([]string{"single", "hold"}, "double"), "battery": battery(),
	}),
	// lumi.ts WXKG11LM: Aqara wireless mini switch, action single, double,
	// triple, quadruple, hold, release (a release ends a hold: nothing).
	model("WXKG11LM", "Aqara", devices.KindSOSButton, "lumi.ts", "", props{
		"action": buttons([]string{"single", "triple", "quadruple", "hold"}, "double"), "battery": battery(),
	}),

	// Smoke alarms.
	// heiman.ts HS1SA-E, HS3SA/HS1SA, HS2SA-EF-3.0: fz.ias_smoke_alarm_1 →
	// smoke, battery_low, test (zone status bit 8: the test button).
	model("HS1SA-E", "Heiman", devices.KindSmoke, "heiman.ts", "", props{
		"smoke": smoke(), "battery_low": batteryLow(), "battery": battery(), "test": test(),
	}),
	model("HS3SA/HS1SA", "Heiman", devices.KindSmoke, "heiman.ts", "", props{
		"smoke": smoke(), "battery_low": batteryLow(), "battery": battery(), "test": test(),
	}),
	model("HS2SA-EF-3.0", "Heiman", devices.KindSmoke, "heiman.ts", "", props{
		"smoke": smoke(), "battery_low": batteryLow(), "battery": battery(), "test": test(),
	}),
	// lumi.ts JTYJ-GD-01LM/BW: smoke, battery_low, tamper, test (test mode),
	// sensitivity (a setting), selftest written with an empty string.
	model("JTYJ-GD-01LM/BW", "Xiaomi", devices.KindSmoke, "lumi.ts", `{"selftest":""}`, props{
		"smoke": smoke(), "battery_low": batteryLow(), "tamper": tamper(), "battery": battery(), "test": test(),
	}),
	// lumi.ts JY-GZ-01AQ: smoke, test ("self-test in progress"), battery;
	// buzzer, buzzer_manual_mute and linkage_alarm are settings.
	model("JY-GZ-01AQ", "Aqara", devices.KindSmoke, "lumi.ts", `{"selftest":"selftest"}`, props{
		"smoke": smoke(), "test": test(), "battery": battery(),
	}),
	// tuya.ts TS0601_smoke_1: smoke, tamper, battery_low.
	model("TS0601_smoke_1", "Tuya", devices.KindSmoke, "tuya.ts", "", props{
		"smoke": smoke(), "tamper": tamper(), "battery_low": batteryLow(),
	}),
	// tuya.ts TS0601_smoke_5: smoke, tamper, battery, fault_alarm; "alarm"
	// (ON/OFF) and silence are settings.
	model("TS0601_smoke_5", "Tuya", devices.KindSmoke, "tuya.ts", "", props{
		"smoke": smoke(), "tamper": tamper(), "battery": battery(), "fault_alarm": fault(),
	}),
	// tuya.ts ZSS-QY-SSD-A-EN: smoke, fault_alarm, battery_state, battery,
	// self_test (binary, "being self-tested", writable).
	model("ZSS-QY-SSD-A-EN", "Tuya", devices.KindSmoke, "tuya.ts", `{"self_test":true}`, props{
		"smoke": smoke(), "fault_alarm": fault(), "battery_state": batteryState(), "battery": battery(),
		"self_test": test(),
	}),
	// tuya.ts PA-44Z: smoke, battery, test, device_fault; silence a setting.
	model("PA-44Z", "Tuya", devices.KindSmoke, "tuya.ts", "", props{
		"smoke": smoke(), "battery": battery(), "test": test(), "device_fault": fault(),
	}),
	// tuya.ts HS2SA-1 (Heiman, Tuya datapoints): smoke, battery,
	// battery_state, self_test checking|check_success|check_failure.
	model("HS2SA-1", "Heiman", devices.KindSmoke, "tuya.ts", "", props{
		"smoke": smoke(), "battery": battery(), "battery_state": batteryState(), "self_test": tuyaSelfTestEnum(),
	}),
	// tuya.ts SA12IZL: smoke, battery, battery_level low|middle|high;
	// "alarm" and silence_siren are settings.
	model("SA12IZL", "Tuya", devices.KindSmoke, "tuya.ts", "", props{
		"smoke": smoke(), "battery": battery(), "battery_level": batteryState(),
	}),
	// tuya.ts 228WZH: smoke, temperature, humidity, battery_state,
	// self_test Checking|Check success|Check failure.
	model("228WZH", "Tuya", devices.KindSmoke, "tuya.ts", "", props{
		"smoke": smoke(), "temperature": temperature(), "humidity": humidity(),
		"battery_state": batteryState(), "self_test": tuyaSelfTestEnum(),
	}),
	// tuya.ts TS0601_smoke_co: smoke, smoke_state alarm|none|detecting|
	// unknown, carbon_monoxide, battery; alarm_switch, alarm_volume and
	// silence are settings.
	model("TS0601_smoke_co", "Tuya", devices.KindSmoke, "tuya.ts", "", props{
		"smoke": smoke(), "smoke_state": enum(devices.CondSmoke, []string{"alarm"}, []string{"none", "detecting"}),
		"carbon_monoxide": co(), "battery": battery(),
	}),

	// Gas detectors.
	// heiman.ts HS1CG, HS3CG, HS1CG-E: fz.ias_gas_alarm_1 → gas, tamper,
	// battery_low; no reading.
	model("HS1CG", "Heiman", devices.KindGas, "heiman.ts", "", props{
		"gas": gas(), "tamper": tamper(), "battery_low": batteryLow(),
	}),
	model("HS3CG", "Heiman", devices.KindGas, "heiman.ts", "", props{
		"gas": gas(), "tamper": tamper(), "battery_low": batteryLow(),
	}),
	model("HS1CG-E", "Heiman", devices.KindGas, "heiman.ts", "", props{
		"gas": gas(), "tamper": tamper(), "battery_low": batteryLow(),
	}),
	// tuya.ts TS0204: fz.ias_gas_alarm_1 → gas, tamper.
	model("TS0204", "Tuya", devices.KindGas, "tuya.ts", "", props{
		"gas": gas(), "tamper": tamper(),
	}),
	// lumi.ts JTQJ-BF-01LM/BW: gas, tamper; gas_density has no unit in the
	// definition, so it is not read as %LEL; sensitivity is a setting.
	model("JTQJ-BF-01LM/BW", "Xiaomi", devices.KindGas, "lumi.ts", `{"selftest":""}`, props{
		"gas": gas(), "tamper": tamper(),
	}),
	// lumi.ts JT-BZ-01AQ/A: gas, gas_density in %LEL, test (self-test in
	// progress); state preparation|work, gas_sensitivity, buzzer and
	// linkage_alarm are settings or warm-up, never alarms.
	model("JT-BZ-01AQ/A", "Aqara", devices.KindGas, "lumi.ts", `{"selftest":"selftest"}`, props{
		"gas": gas(), "gas_density": lel(), "test": test(),
	}),
	// tuya.ts TS0601_gas_sensor_1 and _3: gas, self_test (writable
	// binary), self_test_result checking|success|failure|others,
	// fault_alarm; silence a setting.
	model("TS0601_gas_sensor_1", "Tuya", devices.KindGas, "tuya.ts", `{"self_test":true}`, props{
		"gas": gas(), "self_test": test(), "self_test_result": tuyaSelfTestResult(), "fault_alarm": fault(),
	}),
	model("TS0601_gas_sensor_3", "Tuya", devices.KindGas, "tuya.ts", `{"self_test":true}`, props{
		"gas": gas(), "self_test": test(), "self_test_result": tuyaSelfTestResult(), "fault_alarm": fault(),
	}),
	// tuya.ts TS0601_gas_sensor_2: gas, gas_value (LEL), self_test,
	// self_test_result; preheat, alarm_ringtone, alarm_time, silence are
	// not alarms.
	model("TS0601_gas_sensor_2", "Tuya", devices.KindGas, "tuya.ts", `{"self_test":true}`, props{
		"gas": gas(), "gas_value": lel(), "self_test": test(), "self_test_result": tuyaSelfTestResult(),
	}),
	// tuya.ts TS0601_gas_sensor_4: gas, gas_value (LEL), fault_alarm;
	// preheat, alarm_switch and silence are not alarms.
	model("TS0601_gas_sensor_4", "Tuya", devices.KindGas, "tuya.ts", "", props{
		"gas": gas(), "gas_value": lel(), "fault_alarm": fault(),
	}),
	// tuya.ts DCR-RQJ: gas, gas_value (LEL %), carbon_monoxide, co (ppm).
	model("DCR-RQJ", "Tuya", devices.KindGas, "tuya.ts", "", props{
		"gas": gas(), "gas_value": lel(), "carbon_monoxide": co(), "co": coPPM(),
	}),
	// tuya.ts JKD-816COM-Z: carbon_monoxide, co, gas, gas_value (LEL),
	// self_test checking|check_success|check_failure|others, fault
	// none|fault|serious_fault|sensor_fault|probe_fault|power_fault.
	model("JKD-816COM-Z", "Tuya", devices.KindGas, "tuya.ts", "", props{
		"carbon_monoxide": co(), "co": coPPM(), "gas": gas(), "gas_value": lel(),
		"self_test": tuyaSelfTestEnum(),
		"fault":     enum(devices.CondFault, []string{"fault", "serious_fault", "sensor_fault", "probe_fault", "power_fault"}, []string{"none"}),
	}),

	// Carbon monoxide alarms.
	// heiman.ts HS1CA-E, HS1CA-M: fz.ias_carbon_monoxide_alarm_1 →
	// carbon_monoxide, battery_low; battery.
	model("HS1CA-E", "Heiman", devices.KindCO, "heiman.ts", "", props{
		"carbon_monoxide": co(), "battery_low": batteryLow(), "battery": battery(),
	}),
	model("HS1CA-M", "Heiman", devices.KindCO, "heiman.ts", "", props{
		"carbon_monoxide": co(), "battery_low": batteryLow(), "battery": battery(),
	}),
	// moes.ts ZC-HM: carbon_monoxide, co (ppm), self_test_result, battery;
	// silence is a setting.
	model("ZC-HM", "Moes", devices.KindCO, "moes.ts", "", props{
		"carbon_monoxide": co(), "co": coPPM(), "self_test_result": tuyaSelfTestResult(), "battery": battery(),
	}),
	// tuya.ts DCR-CO: carbon_monoxide is ON/OFF here, not true/false.
	model("DCR-CO", "Tuya", devices.KindCO, "tuya.ts", "", props{
		"carbon_monoxide": binaryOnOff(devices.CondCO), "co": coPPM(),
	}),

	// Door contacts: contact (true is closed) opening or closing is a sign
	// of life of the household.
	// tuya.ts TS0203: fz.ias_contact_alarm_1 → contact, tamper, battery_low.
	model("TS0203", "Tuya", devices.KindDoor, "tuya.ts", "", props{
		"contact": contact(), "tamper": tamper(), "battery_low": batteryLow(), "battery": battery(),
	}),
	// lumi.ts MCCGQ11LM: Aqara door and window sensor, contact, battery.
	model("MCCGQ11LM", "Aqara", devices.KindDoor, "lumi.ts", "", props{
		"contact": contact(), "battery": battery(),
	}),
	// heiman.ts HS1DS: fz.ias_contact_alarm_1 → contact, battery_low, tamper.
	model("HS1DS", "Heiman", devices.KindDoor, "heiman.ts", "", props{
		"contact": contact(), "battery_low": batteryLow(), "tamper": tamper(), "battery": battery(),
	}),
	// sonoff.ts SNZB-04: iasZoneAlarm contact → contact, battery_low.
	model("SNZB-04", "SONOFF", devices.KindDoor, "sonoff.ts", "", props{
		"contact": contact(), "battery_low": batteryLow(), "battery": battery(),
	}),

	// Motion sensors: occupancy rising is a sign of life.
	// tuya.ts TS0202: fz.ias_occupancy_alarm_1 → occupancy, tamper,
	// battery_low.
	model("TS0202", "Tuya", devices.KindMotion, "tuya.ts", "", props{
		"occupancy": occupancy(), "tamper": tamper(), "battery_low": batteryLow(), "battery": battery(),
	}),
	// lumi.ts RTCGQ11LM: Aqara motion sensor, occupancy (with timeout),
	// battery; illuminance is not read.
	model("RTCGQ11LM", "Aqara", devices.KindMotion, "lumi.ts", "", props{
		"occupancy": occupancy(), "battery": battery(),
	}),
	// sonoff.ts SNZB-03: iasZoneAlarm occupancy → occupancy, battery_low.
	model("SNZB-03", "SONOFF", devices.KindMotion, "sonoff.ts", "", props{
		"occupancy": occupancy(), "battery_low": batteryLow(), "battery": battery(),
	}),

	// Air monitors.
	// heiman.ts HS2AQ-EM: temperature, humidity, pm25, pm10 (µg/m³), hcho
	// (mg/m³), voc (µg/m³, read as tvoc in mg/m³), battery; its
	// battery_state is charging, not a low battery, so it is not read.
	model("HS2AQ-EM", "Heiman", devices.KindAir, "heiman.ts", "", props{
		"temperature": temperature(), "humidity": humidity(), "pm25": pm25(), "pm10": reading("pm10", 1),
		"hcho": reading("hcho", 1), "voc": reading("tvoc", 0.001), "battery": battery(),
	}),
	// heiman.ts HS3AQ: co2, temperature, humidity, battery.
	model("HS3AQ", "Heiman", devices.KindAir, "heiman.ts", "", props{
		"co2": co2(), "temperature": temperature(), "humidity": humidity(), "battery": battery(),
	}),
	// lumi.ts KQJCMB11LM: temperature, humidity, pm25, co2.
	model("KQJCMB11LM", "Aqara", devices.KindAir, "lumi.ts", "", props{
		"temperature": temperature(), "humidity": humidity(), "pm25": pm25(), "co2": co2(),
	}),
	// tuya.ts TS0601_air_quality_sensor: temperature, humidity, co2, voc
	// (ppb), formaldehyd (µg/m³, read as hcho in mg/m³).
	model("TS0601_air_quality_sensor", "Tuya", devices.KindAir, "tuya.ts", "", props{
		"temperature": temperature(), "humidity": humidity(), "co2": co2(),
		"voc": reading("voc_ppb", 1), "formaldehyd": reading("hcho", 0.001),
	}),
	// tuya.ts TS0601_smart_air_house_keeper: as above, and pm25.
	model("TS0601_smart_air_house_keeper", "Tuya", devices.KindAir, "tuya.ts", "", props{
		"temperature": temperature(), "humidity": humidity(), "co2": co2(), "pm25": pm25(),
		"voc": reading("voc_ppb", 1), "formaldehyd": reading("hcho", 0.001),
	}),
	// tuya.ts TS0601_co2_sensor: co2.
	model("TS0601_co2_sensor", "Tuya", devices.KindAir, "tuya.ts", "", props{
		"co2": co2(),
	}),
}
