// Package notify tells people outside the console of an alert, on the
// channels a street office really uses: a WeCom (企业微信) group robot, a
// DingTalk (钉钉) robot with its signature, a Feishu/Lark (飞书) bot with
// its signature, a generic JSON webhook, and text messages through an SMS
// gateway's HTTP API described by a template. It owns the street's
// notification configuration (a JSON file, -notify): the channels, with
// their keys and secrets, and who each party of the escalation policy is
// per community. alerts decides who is told and keeps every notification
// durable in the store; this package says who a party is (a Directory),
// renders the message in the recipient's language and delivers it.
//
// Standard library only: each provider's API is one HTTPS POST of JSON (or
// a form, for some SMS gateways), and a signature is HMAC-SHA256.
package notify
