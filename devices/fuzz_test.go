package devices

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// FuzzDecode feeds arbitrary payloads to the decoder for every kind and
// uplink channel. It must never panic, and whatever it accepts must hold to
// the protocol: known fields only, finite numbers within range, a seq on
// events and telemetry.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		`{"seq":7,"ts":1763800000000,"type":"sos"}`,
		`{"seq":9,"ts":1763800000000,"type":"gas","lel":27.5}`,
		`{"seq":10,"ts":1763800000000,"lel":3.2,"temperature":21.5,"battery":88,"signal":-71}`,
		`{"seq":1,"ts":1763800000000,"pm25":35,"co2":800}`,
		`{"state":"online","fw":"1.0.3","battery":87}`,
		`{"seq":1,"ts":1763800000000,"lel":1e999}`,
		`{"seq":1.5}`, `[]`, `null`, `{"seq":1,"ts":-1,"type":"test","test":true}`,
	} {
		for ch := range 3 {
			f.Add([]byte(s), uint8(ch), uint8(ch))
		}
	}
	channels := []Channel{ChannelEvent, ChannelTelemetry, ChannelStatus}
	f.Fuzz(func(t *testing.T, payload []byte, kindIdx, chIdx uint8) {
		k := Kinds[int(kindIdx)%len(Kinds)]
		ch := channels[int(chIdx)%len(channels)]
		m, err := Decode(DefaultLimits, k, ch, payload, recv)
		if err != nil {
			if RejectionReason(err) == "" {
				t.Fatalf("error %v is not a Rejection", err)
			}
			return
		}
		if ch != ChannelStatus && m.Seq == 0 {
			t.Fatal("accepted an event or telemetry without seq")
		}
		if m.Telemetry != nil {
			for name, v := range m.Telemetry.Fields {
				fs, ok := Spec(k).Field(name)
				if !ok || math.IsNaN(v) || v < fs.Min || v > fs.Max {
					t.Fatalf("accepted %s=%v for %s", name, v, k)
				}
			}
		}
		if m.Event != nil && !Spec(k).AllowsEvent(m.Event.Type) {
			t.Fatalf("accepted event %q for %s", m.Event.Type, k)
		}
	})
}

// FuzzSeqWindow checks that a message accepted once is never accepted again
// with the same timestamp while it is inside the window.
func FuzzSeqWindow(f *testing.F) {
	f.Add([]byte{1, 2, 3, 2, 1, 200, 3})
	f.Fuzz(func(t *testing.T, steps []byte) {
		var w SeqWindow
		seen := map[uint64]bool{}
		for _, b := range steps {
			seq := uint64(b) + 1
			v := w.Accept(seq, int64(seq)) // ts grows with seq: no restarts
			if seen[seq] && v != SeqDuplicate {
				t.Fatalf("seq %d accepted twice", seq)
			}
			if v != SeqDuplicate {
				seen[seq] = true
			}
		}
	})
}

// trickyPayloads are inputs where a JSON decoder can go its own way: they
// seed FuzzDecodeMatchesReference and TestDecodeMatchesReference runs them.
var trickyPayloads = []string{
	// duplicate names: the last one counts
	`{"seq":1,"seq":2,"ts":1763800000000}`,
	`{"seq":"x","seq":2,"ts":1763800000000}`,
	`{"seq":2,"seq":"x","ts":1763800000000}`,
	`{"seq":1,"ts":1763800000000,"lel":1,"lel":200}`,
	`{"seq":1,"ts":1763800000000,"lel":200,"lel":1}`,
	`{"seq":1,"ts":1763800000000,"radon":1,"radon":2,"aaa":3}`,
	`{"state":"asleep","state":"online"}`,
	// escaped and odd names
	`{"\u0073eq":1,"ts":1763800000000,"type":"sos"}`,
	`{"seq":1,"t\u0073":1763800000000,"\u006cel":2.5}`,
	`{"seq":1,"ts":1763800000000,"type":"\u0073os"}`,
	`{"seq":1,"ts":1763800000000,"Seq":2}`,
	`{"seq":1,"ts":1763800000000,"seq\u0000":2}`,
	`{"seq":1,"ts":1763800000000,"\ud800":2,"\udc00x":3,"\ud800\udc00":4}`,
	`{"seq":1,"ts":1763800000000,"\ud800\ud800\udc00":2,"\ud800\u0041":3}`,
	"{\"seq\":1,\"ts\":1763800000000,\"s\xffeq\":2,\"\xc3\":3,\"\xe2\x82\":4}",
	"{\"seq\":1,\"ts\":1763800000000,\"type\":\"so\xffs\"}",
	"{\"state\":\"online\",\"fw\":\"" + strings.Repeat("\xff", 22) + "\"}",
	"{\"state\":\"online\",\"fw\":\"" + strings.Repeat("\xff", 21) + "x\"}",
	`{"state":"online","fw":"\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9x"}`,
	`{"state":"online","fw":"1.0\n\"3\"\\\/\b\f\r\t"}`,
	`{"state":"online","fw":"` + strings.Repeat("x", 64) + `"}`,
	`{"state":"online","fw":""}`,
	"{\"state\":\"online\",\"fw\":\"\u6c34\U0001F525\"}",
	`{"seq":1,"ts":1763800000000,"水":2}`,
	`{"seq":1,"ts":1763800000000,"":2}`,
	// numbers
	`{"seq":9007199254740992,"ts":9223372036854775807}`,
	`{"seq":9007199254740993,"ts":-9223372036854775808}`,
	`{"seq":18446744073709551616,"ts":1}`,
	`{"seq":1,"ts":9223372036854775808}`,
	`{"seq":1e2,"ts":1}`, `{"seq":1.0,"ts":1}`, `{"seq":-0,"ts":-0}`, `{"seq":01,"ts":1}`,
	`{"seq":1,"ts":1763800000000,"lel":-0}`, `{"seq":1,"ts":1763800000000,"lel":-0.0}`,
	`{"seq":1,"ts":1763800000000,"lel":1e-400}`, `{"seq":1,"ts":1763800000000,"lel":-1e-400}`,
	`{"seq":1,"ts":1763800000000,"lel":1e308,"temperature":1e309}`,
	`{"seq":1,"ts":1763800000000,"lel":0.1e1,"battery":1E+2,"signal":-1.5e-0}`,
	`{"seq":1,"ts":1763800000000,"lel":100.00000000000000001}`,
	`{"seq":1,"ts":1763800000000,"lel":Infinity}`, `{"seq":1,"ts":1763800000000,"lel":-Inf}`,
	`{"seq":1,"ts":1763800000000,"lel":0x10}`, `{"seq":1,"ts":1763800000000,"lel":+1}`,
	`{"seq":1,"ts":1763800000000,"lel":.5}`, `{"seq":1,"ts":1763800000000,"lel":5.}`,
	`{"seq":1,"ts":1763800000000,"lel":1_0}`,
	`{"seq":1,"ts":1763800000000,"lel":"NaN"}`,
	`{"seq":1,"ts":1763800000000,"lel":` + strings.Repeat("1", 400) + `}`,
	`{"seq":1,"ts":1763800000000,"lel":0.` + strings.Repeat("0", 400) + `1}`,
	// several faults: the first in Decode's order wins
	`{"seq":1,"ts":1763800000000,"temperature":"x","lel":1e999,"battery":null}`,
	`{"seq":1,"ts":1763800000000,"zzz":1,"battery":-1}`,
	`{"seq":0,"ts":"x"}`, `{"ts":"x"}`, `{"seq":1,"type":5}`,
	`{"seq":1,"ts":1,"type":"gas","test":1,"lel":-5}`,
	`{"seq":1,"ts":1,"type":"test","test":false}`,
	`{"seq":1,"ts":1,"type":"smoke","test":true,"lel":5}`,
	`{"state":"online","fw":1,"battery":"x"}`,
	`{"state":"offline","battery":101,"signal":1}`,
	`{"state":null}`, `{"state":"online","fw":null}`, `{"seq":null,"ts":null,"state":"online"}`,
	// nesting, literals and other types
	`{"seq":1,"ts":1763800000000,"lel":{"v":1}}`,
	`{"seq":1,"ts":1763800000000,"lel":[1]}`,
	`{"seq":1,"ts":1763800000000,"x":{"a":[1,{"b":null}],"c":"\u0000"}}`,
	`{"seq":1,"ts":1763800000000,"x":{"a":[1,{"b":nul}]}}`,
	`{"seq":1,"ts":1763800000000,"type":"sos","test":true,"test":null}`,
	`{"seq":true,"ts":false}`, `{"seq":[],"ts":{}}`,
	// whitespace, framing and garbage
	" \t\r\n{ \"seq\" : 1 ,\n\"ts\"\t:\r1763800000000 } \n",
	"\xef\xbb\xbf{\"seq\":1,\"ts\":1763800000000}",
	"{\"seq\":1,\"ts\":1763800000000}\x00",
	"\v{\"seq\":1,\"ts\":1763800000000}",
	`{"seq":1,"ts":1763800000000,}`, `{,"seq":1}`, `{"seq":1,,"ts":1}`, `{"seq" 1}`, `{"seq":}`,
	`{"seq":1,"ts":1763800000000}{}`, `{"seq":1,"ts":1763800000000} {}`, `{"seq":1,"ts":1763800000000}]`,
	`{"seq":1,"ts":1763800000000`, `{"seq":1,"ts":17638`, `{"seq":1,"ts":"176`, `{"seq`, `{`, `}`, ``, ` `,
	`{}`, `{ }`, `[]`, `[{"seq":1}]`, `"seq"`, `1`, `true`, `null`, `nul`,
	`{'seq':1}`, `{seq:1}`, `{"seq":1,"ts":1763800000000,"x":"a\qb"}`, `{"seq":1,"ts":1,"x":"\u12"}`,
	"{\"seq\":1,\"ts\":1,\"x\":\"a\tb\"}", "{\"seq\":1,\"ts\":1,\"x\":\"a\x7fb\"}",
	`{"seq":1,"ts":1763800000000,"x":"\u0000\uffff\uFFFE"}`,
	`{"seq":1,"ts":1763800000000} // comment`, `{"seq":1,/*c*/"ts":1}`,
	`{"seq":1,"ts":1763800000000,"type":"sos",}`,
	`{"seq":1,"ts":1763800000000,"lel":TRUE}`, `{"seq":1,"ts":1763800000000,"lel":nulll}`,
}

// FuzzDecodeMatchesReference holds Decode to decodeRef, the encoding/json
// decoder it replaced: for any payload, every kind and every channel, both
// reject it for the same reason with the same detail, or both accept it as
// the same message.
func FuzzDecodeMatchesReference(f *testing.F) {
	for _, s := range trickyPayloads {
		f.Add([]byte(s))
	}
	for _, p := range benchPayloads {
		f.Add([]byte(p.payload))
	}
	for _, p := range corpusPayloads(f, "FuzzDecode") {
		f.Add(p)
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		checkMatchesReference(t, DefaultLimits, payload)
	})
}

func TestDecodeMatchesReference(t *testing.T) {
	for _, s := range trickyPayloads {
		checkMatchesReference(t, DefaultLimits, []byte(s))
	}
	// Nesting as deep as encoding/json allows, and one level deeper.
	big := Limits{MaxPayload: 1 << 20}
	for _, depth := range []int{9998, 9999, 10000} {
		for _, open := range []string{"[", `{"a":`} {
			close := map[string]string{"[": "]", `{"a":`: "}"}[open]
			p := `{"seq":1,"ts":1763800000000,"x":` + strings.Repeat(open, depth) + "0" + strings.Repeat(close, depth) + "}"
			checkMatchesReference(t, big, []byte(p))
		}
	}
}

// checkMatchesReference fails t unless Decode and decodeRef agree on payload
// for every kind, an unknown one, and every channel, a downlink one too.
func checkMatchesReference(t *testing.T, lim Limits, payload []byte) {
	t.Helper()
	for _, k := range append(slices.Clone(Kinds), "boiler") {
		for _, ch := range []Channel{ChannelEvent, ChannelTelemetry, ChannelStatus, ChannelCmd} {
			got, gotErr := Decode(lim, k, ch, payload, recv)
			want, wantErr := decodeRef(lim, k, ch, payload, recv)
			// One difference is meant: where the reference let the last of
			// two same-named readings count, Decode refuses the payload.
			if name, ok := repeatedKnownName(k, ch, payload); ok && (wantErr == nil || RejectionReason(wantErr) != ReasonMalformed && RejectionReason(wantErr) != ReasonOversized) {
				want, wantErr = nil, reject(ReasonMalformed, "payload repeats the name %q", name)
			}
			if gotErr != nil || wantErr != nil {
				var g, w *Rejection
				if !errors.As(gotErr, &g) || !errors.As(wantErr, &w) || *g != *w {
					t.Fatalf("%s %s %q:\nDecode:    %v\nreference: %v", k, ch, payload, gotErr, wantErr)
				}
				continue
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("%s %s %q:\nDecode:    %s\nreference: %s", k, ch, payload, describe(got), describe(want))
			}
		}
	}
}

// repeatedKnownName reports the first name Decode knows for k and ch that
// payload, a JSON object, gives a second time, found with encoding/json's
// token stream.
func repeatedKnownName(k Kind, ch Channel, payload []byte) (string, bool) {
	c := codecs[k]
	if c == nil {
		return "", false
	}
	names := c.layout(ch).names
	dec := json.NewDecoder(bytes.NewReader(payload))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return "", false
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return "", false
		}
		name, _ := tok.(string)
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return "", false
		}
		if slices.Contains(names, name) {
			if seen[name] {
				return name, true
			}
			seen[name] = true
		}
	}
	return "", false
}

func describe(m *Message) string {
	s := fmt.Sprintf("%+v", *m)
	if m.Event != nil {
		s += fmt.Sprintf(" event %+v", *m.Event)
		if m.Event.LEL != nil {
			s += fmt.Sprintf(" lel %v", *m.Event.LEL)
		}
	}
	if m.Telemetry != nil {
		s += fmt.Sprintf(" telemetry %v", m.Telemetry.Fields)
	}
	if m.Status != nil {
		s += fmt.Sprintf(" status %+v", *m.Status)
	}
	return s
}

// corpusPayloads returns the payloads of the committed corpus of another
// fuzz test whose first argument is a payload.
func corpusPayloads(tb testing.TB, fuzzName string) [][]byte {
	files, err := filepath.Glob(filepath.Join("testdata", "fuzz", fuzzName, "*"))
	if err != nil {
		tb.Fatal(err)
	}
	var payloads [][]byte
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			tb.Fatal(err)
		}
		lines := strings.Split(string(b), "\n")
		if len(lines) < 2 || !strings.HasPrefix(lines[1], "[]byte(") {
			tb.Fatalf("%s: not a payload corpus entry", file)
		}
		s, err := strconv.Unquote(strings.TrimSuffix(strings.TrimPrefix(lines[1], "[]byte("), ")"))
		if err != nil {
			tb.Fatalf("%s: %v", file, err)
		}
		payloads = append(payloads, []byte(s))
	}
	if len(payloads) == 0 {
		tb.Fatalf("no corpus for %s", fuzzName)
	}
	return payloads
}

// FuzzDecodeMatchesReferenceObjects is FuzzDecodeMatchesReference on
// payloads that are mostly well-formed objects, built member by member from
// names and values chosen by the fuzzer, so that the order in which Decode
// checks fields is exercised as much as the tokenizer.
func FuzzDecodeMatchesReferenceObjects(f *testing.F) {
	f.Add([]byte{0, 0, 1, 1, 2, 2})
	f.Add([]byte{0, 0, 1, 1, 5, 3, 6, 4, 7, 5, 8, 6, 9, 7})
	f.Add([]byte{3, 8, 4, 1, 10, 9, 0, 0, 1, 1, 2, 2, 255})
	f.Fuzz(func(t *testing.T, choices []byte) {
		checkMatchesReference(t, DefaultLimits, buildObject(choices))
	})
}

var (
	fuzzNames = []string{
		`"seq"`, `"ts"`, `"type"`, `"test"`, `"lel"`, `"temperature"`, `"battery"`, `"signal"`,
		`"smoke"`, `"humidity"`, `"pm25"`, `"pm10"`, `"co2"`, `"tvoc"`, `"state"`, `"fw"`,
		`"\u0073eq"`, `"t\u0073"`, `"Seq"`, `"radon"`, `""`, "\"s\xffq\"", `"\ud800"`, `"lel "`,
	}
	fuzzValues = []string{
		`1`, `1763800000000`, `"sos"`, `true`, `27.5`, `-61`, `87`, `"online"`, `"offline"`, `"1.0.3"`,
		`0`, `-0`, `-1`, `100`, `100.5`, `1e999`, `-1e999`, `1e-400`, `9007199254740993`, `1.5`, `1e2`,
		`null`, `false`, `"x"`, `""`, `{}`, `[]`, `{"a":[1,null]}`, `"gas"`, `"test"`, `"smoke"`,
		`"fault"`, `"\u0073os"`, "\"\xff\"", `"` + strings.Repeat("v", 65) + `"`, `18446744073709551616`,
		`-9223372036854775809`, `0.000001`, `39999.99`, `2000`, `-150`, `125`, `85.0001`,
	}
	fuzzSpaces = []string{"", " ", "\n\t", "\r"}
)

// buildObject makes a payload from choices: pairs of bytes pick a name and a
// value; a byte past the pairs may spoil the framing.
func buildObject(choices []byte) []byte {
	var b strings.Builder
	b.WriteString("{")
	for i := 0; i+1 < len(choices); i += 2 {
		if i > 0 {
			b.WriteString(",")
		}
		sp := fuzzSpaces[int(choices[i]>>6)%len(fuzzSpaces)]
		b.WriteString(sp + fuzzNames[int(choices[i])%len(fuzzNames)] + sp + ":")
		b.WriteString(fuzzValues[int(choices[i+1])%len(fuzzValues)] + sp)
	}
	b.WriteString("}")
	if len(choices)%2 == 1 {
		switch choices[len(choices)-1] % 4 {
		case 1:
			b.WriteString(",")
		case 2:
			b.WriteString(" {}")
		case 3:
			return []byte(b.String()[:b.Len()-1])
		}
	}
	return []byte(b.String())
}
