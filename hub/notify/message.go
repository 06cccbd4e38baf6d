package notify

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/shouwang-hub/shouwang/alerts"
)

// A notification goes to people outside the console — a community's duty
// officer on WeCom, the street's leaders on DingTalk, a daughter by text
// message — so the hub writes it out in their language: Chinese unless the
// recipient is configured for English.

// message is one notification as a channel sends it.
type message struct {
	Title    string // one line
	Text     string // plain text: SMS, Feishu
	Markdown string // WeCom and DingTalk
	Link     string // the alert in the console, when the hub's public URL is known
	To       string // the phone number, on an SMS channel
	Msg      alerts.Message
	// Key is the same for every attempt of one notification: a webhook
	// receiver can drop a repeat (with several hub instances, a delivery
	// whose sender died before recording it is made again by another).
	Key string
}

var kindNames = map[string]map[alerts.Kind]string{
	"zh": {alerts.KindSOS: "一键呼救", alerts.KindSmoke: "烟雾报警", alerts.KindGasLow: "燃气泄漏", alerts.KindGasHigh: "燃气泄漏（高浓度）",
		alerts.KindFault: "设备故障", alerts.KindTamper: "防拆报警", alerts.KindLowBattery: "电量低", alerts.KindOffline: "设备失联",
		alerts.KindAirQuality: "空气质量", alerts.KindCO: "一氧化碳报警"},
	"en": {alerts.KindSOS: "SOS call", alerts.KindSmoke: "smoke alarm", alerts.KindGasLow: "gas leak", alerts.KindGasHigh: "gas leak (high)",
		alerts.KindFault: "device fault", alerts.KindTamper: "tamper alarm", alerts.KindLowBattery: "low battery", alerts.KindOffline: "device silent",
		alerts.KindAirQuality: "air quality", alerts.KindCO: "carbon monoxide alarm"},
}

var severityNames = map[string]map[alerts.Severity]string{
	"zh": {alerts.SeverityCritical: "紧急", alerts.SeverityMajor: "重要", alerts.SeverityMinor: "一般"},
	"en": {alerts.SeverityCritical: "CRITICAL", alerts.SeverityMajor: "MAJOR", alerts.SeverityMinor: "MINOR"},
}

// phrasing is how a notification is worded in one language.
type phrasing struct {
	title                                                     string // severity, kind, alert number
	notAccepted                                               string // escalation level
	familyTitle                                               string // resident
	familyLine, address, resident, alone, since, device, open string
}

var phrasings = map[string]phrasing{
	"zh": {title: "【守望】%s：%s #%d", notAccepted: "（无人接警，升至第 %d 级）",
		familyTitle: "【守望】您的家人 %s 按下了一键呼救", familyLine: "街道值班室已收到，正在处置。",
		address: "地址：", resident: "住户：", alone: "（独居）", since: "时间：", device: "设备：", open: "查看："},
	"en": {title: "[Shouwang] %s: %s #%d", notAccepted: " — not accepted, level %d",
		familyTitle: "[Shouwang] %s pressed the SOS button", familyLine: "The street duty room has the call and is handling it.",
		address: "Address: ", resident: "Resident: ", alone: " (lives alone)", since: "Since: ", device: "Device: ", open: "Open: "},
}

// render writes m for a recipient in lang ("zh" or "en"), with a link to
// the alert under publicURL (if known), times in loc.
func render(m alerts.Message, lang, publicURL string, loc *time.Location) message {
	if lang != "en" {
		lang = "zh"
	}
	kind := kindNames[lang][m.Kind]
	if kind == "" {
		kind = string(m.Kind)
	}
	sev := severityNames[lang][m.Severity]
	link := ""
	if publicURL != "" {
		link = strings.TrimSuffix(publicURL, "/") + "/#alert=" + strconv.FormatInt(m.Alert, 10)
	}
	opened := m.OpenedAt.In(loc).Format("2006-01-02 15:04:05")
	ph := phrasings[lang]
	title := fmt.Sprintf(ph.title, sev, kind, m.Alert)
	if m.Level > 0 {
		title += fmt.Sprintf(ph.notAccepted, m.Level)
	}
	var lines []string
	if m.Party == alerts.PartyFamily {
		title = fmt.Sprintf(ph.familyTitle, m.Resident)
		lines = append(lines, ph.familyLine)
	}
	lines = append(lines, ph.address+m.Address)
	if m.Resident != "" {
		who := ph.resident + m.Resident
		if m.LivesAlone {
			who += ph.alone
		}
		lines = append(lines, who)
	}
	lines = append(lines, ph.since+opened, ph.device+m.DeviceID)
	if link != "" && m.Party != alerts.PartyFamily {
		lines = append(lines, ph.open+link)
	}
	md := "### " + title + "\n" + strings.Join(prefixed("> ", lines), "\n")
	if link != "" && m.Party != alerts.PartyFamily {
		md = "### " + title + "\n" + strings.Join(prefixed("> ", lines[:len(lines)-1]), "\n") + "\n\n[" + linkText(lang) + "](" + link + ")"
	}
	return message{Title: title, Text: title + "\n" + strings.Join(lines, "\n"), Markdown: md, Link: link, Msg: m}
}

func linkText(lang string) string {
	if lang == "en" {
		return "Open the alert"
	}
	return "打开警情"
}

// testMessage is the message of a channel's test.
func testMessage(channel, lang string) message {
	if lang == "en" {
		t := fmt.Sprintf("[Shouwang] Test message: channel %q works.", channel)
		return message{Title: t, Text: t, Markdown: "### " + t}
	}
	t := fmt.Sprintf("【守望】测试消息：通知渠道「%s」工作正常。", channel)
	return message{Title: t, Text: t, Markdown: "### " + t}
}

func prefixed(p string, lines []string) []string {
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i] = p + l
	}
	return out
}

// clipBytes cuts s to at most n bytes without splitting a character.
func clipBytes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[:n]
	for !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}
