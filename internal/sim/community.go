package sim

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/shouwang-hub/shouwang/devices"
)

// The mix of kinds Community installs in a household. Every household gets
// a smoke detector; the rest are drawn per household.
const (
	shareSOS       = 0.85 // elderly households with an emergency call button
	shareVoice     = 0.40 // of those buttons, the ones that can place a voice call
	shareGas       = 0.70 // kitchens with a gas detector
	shareAir       = 0.25 // households with an air monitor
	shareLiveAlone = 0.40 // residents living alone
	buildingsGrid  = 2    // buildings looked after by one grid worker
)

// ID prefixes, by kind: sos-0001, smk-0001, gas-0001, air-0001.
var idPrefix = map[devices.Kind]string{
	devices.KindSOSButton: "sos",
	devices.KindSmoke:     "smk",
	devices.KindGas:       "gas",
	devices.KindAir:       "air",
}

// Vendors and models of the demo devices. The names are made up.
var models = map[devices.Kind][2]string{
	devices.KindSOSButton: {"安居智联", "AJ-SOS200"},
	devices.KindSmoke:     {"消安电子", "XA-YG3"},
	devices.KindGas:       {"燃卫科技", "RW-G100"},
	devices.KindAir:       {"清风环境", "QF-A6"},
}

const voiceModel = "AJ-SOS300V"

var (
	surnames = []string{"王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱",
		"胡", "郭", "何", "林", "高", "罗", "郑", "梁", "谢", "宋", "唐", "许", "邓", "冯", "韩", "曹"}
	elderNames = []string{"秀英", "桂兰", "玉兰", "淑珍", "凤英", "秀兰", "桂英", "玉珍", "淑华", "翠花",
		"建国", "国华", "德明", "志明", "文华", "春生", "永福", "金宝", "振华", "福海", "桂芳", "兰英"}
	youngNames = []string{"伟", "芳", "磊", "静", "敏", "丽", "强", "军", "洋", "娟", "勇", "艳", "杰",
		"涛", "明", "超", "霞", "平", "刚", "婷"}
	careNotes = []string{"高血压", "糖尿病", "行动不便", "助听器", "冠心病", "轻度认知障碍", "使用轮椅",
		"视力较差", "服用降压药", "术后康复中", "夜间易跌倒", "需每日问候"}
	relations  = []string{"儿子", "女儿", "邻居"}
	phoneHeads = []string{"130", "133", "135", "136", "137", "138", "139", "150", "151", "152", "158",
		"159", "176", "177", "180", "182", "186", "187", "189", "199"}
	gridNumerals = []string{"一", "二", "三", "四", "五", "六", "七", "八", "九", "十"}
)

// household is what the devices of one home share.
type household struct {
	loc      devices.Location
	resident devices.Resident
	contacts []devices.Contact
	worker   devices.GridWorker
}

// Community generates a demo community of buildings × householdsPerBuilding
// households, each with its resident, contacts and devices: an emergency
// call button in most homes (some of them with voice), a smoke detector in
// every home, a gas detector in most kitchens and an air monitor in some.
// Two buildings share a grid (网格一, 网格二, …) and its grid worker. Device IDs
// count per kind across the community (sos-0001, smk-0001, gas-0001,
// air-0001). The same rng seed gives the same community; a nil rng uses a
// time-seeded one.
func Community(name string, buildings, householdsPerBuilding int, rng *rand.Rand) []*devices.Device {
	if rng == nil {
		now := uint64(time.Now().UnixNano())
		rng = rand.New(rand.NewPCG(now, now>>1|1))
	}
	var out []*devices.Device
	counts := map[devices.Kind]int{}
	add := func(h *household, k devices.Kind, caps []string, model string) {
		counts[k]++
		vm := models[k]
		if model == "" {
			model = vm[1]
		}
		out = append(out, &devices.Device{
			ID:           fmt.Sprintf("%s-%04d", idPrefix[k], counts[k]),
			Kind:         k,
			Vendor:       vm[0],
			Model:        model,
			Capabilities: caps,
			Location:     h.loc,
			Resident:     h.resident,
			Contacts:     append([]devices.Contact(nil), h.contacts...),
			GridWorker:   h.worker,
		})
	}
	var worker devices.GridWorker
	for b := 1; b <= buildings; b++ {
		grid := gridName((b - 1) / buildingsGrid)
		if (b-1)%buildingsGrid == 0 {
			worker = devices.GridWorker{Name: personName(rng, youngNames), Phone: phone(rng)}
		}
		for _, hh := range homes(b, householdsPerBuilding) {
			h := newHousehold(rng, devices.Location{
				Community: name,
				Grid:      grid,
				Building:  fmt.Sprintf("%d号楼", b),
				Unit:      fmt.Sprintf("%d单元", hh.unit),
				Floor:     fmt.Sprintf("%d层", hh.floor),
				Household: fmt.Sprintf("%d-%d-%d%02d", b, hh.unit, hh.floor, hh.door),
			}, worker)
			if rng.Float64() < shareSOS {
				if rng.Float64() < shareVoice {
					add(h, devices.KindSOSButton, []string{devices.CapVoice}, voiceModel)
				} else {
					add(h, devices.KindSOSButton, nil, "")
				}
			}
			add(h, devices.KindSmoke, nil, "")
			if rng.Float64() < shareGas {
				add(h, devices.KindGas, nil, "")
			}
			if rng.Float64() < shareAir {
				add(h, devices.KindAir, nil, "")
			}
		}
	}
	return out
}

type home struct{ unit, floor, door int }

// homes lays n households out in a building: two units (one for a small
// building), two doors per unit and floor, filled floor by floor.
func homes(building, n int) []home {
	units := 2
	if n < 4 {
		units = 1
	}
	out := make([]home, 0, n)
	for floor := 1; len(out) < n; floor++ {
		for unit := 1; unit <= units && len(out) < n; unit++ {
			for door := 1; door <= 2 && len(out) < n; door++ {
				out = append(out, home{unit: unit, floor: floor, door: door})
			}
		}
	}
	return out
}

func gridName(i int) string {
	if i < len(gridNumerals) {
		return "网格" + gridNumerals[i]
	}
	return fmt.Sprintf("网格%d", i+1)
}

func newHousehold(rng *rand.Rand, loc devices.Location, worker devices.GridWorker) *household {
	surname := pick(rng, surnames)
	res := devices.Resident{
		Name:       surname + pick(rng, elderNames),
		BirthYear:  1930 + rng.IntN(31),
		LivesAlone: rng.Float64() < shareLiveAlone,
		Language:   pickLanguage(rng),
	}
	// Zero to two care notes, without repeats.
	notes := rng.Perm(len(careNotes))[:rng.IntN(3)]
	for i, n := range notes {
		if i > 0 {
			res.CareNotes += "；"
		}
		res.CareNotes += careNotes[n]
	}
	h := &household{loc: loc, resident: res, worker: worker}
	for i, n := 0, 1+rng.IntN(3); i < n; i++ {
		rel := relations[rng.IntN(len(relations))]
		if i == 0 {
			rel = relations[rng.IntN(2)] // family first
		}
		name := pick(rng, surnames) + pick(rng, youngNames)
		if rel == "儿子" {
			name = surname + pick(rng, youngNames)
		}
		h.contacts = append(h.contacts, devices.Contact{Name: name, Relation: rel, Phone: phone(rng)})
	}
	return h
}

func pickLanguage(rng *rand.Rand) string {
	switch r := rng.Float64(); {
	case r < 0.70:
		return "普通话"
	case r < 0.85:
		return "粤语"
	default:
		return "方言"
	}
}

func personName(rng *rand.Rand, given []string) string {
	return pick(rng, surnames) + pick(rng, given)
}

// phone returns a mobile number in the 1xx-xxxx-xxxx style.
func phone(rng *rand.Rand) string {
	return fmt.Sprintf("%s-%04d-%04d", pick(rng, phoneHeads), rng.IntN(10000), rng.IntN(10000))
}

func pick(rng *rand.Rand, s []string) string { return s[rng.IntN(len(s))] }
