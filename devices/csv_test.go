package devices

import (
	"bytes"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"

	"github.com/shouwang-hub/shouwang"
)

const csvHeader = "id,kind,community\n"

func TestParseCSV(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    []*Device // compared on the fields the file sets
		rowErrs []RowError
		err     string // substring of the whole-file error
	}{
		{
			name: "minimal",
			in:   csvHeader + "b-1,sos_button,青山社区\n",
			want: []*Device{{ID: "b-1", Kind: KindSOSButton, Location: Location{Community: "青山社区"}}},
		},
		{
			name: "every column in another order with BOM and CRLF",
			in: "\uFEFFcontacts,ID, kind ,vendor,model,capabilities,community,grid,building,unit,floor,household," +
				"resident_name,resident_birth_year,resident_lives_alone,resident_care_notes,resident_language," +
				"grid_worker_name,grid_worker_phone\r\n" +
				"王芳|女儿|13800000001; 李强|邻居|13800000002,b-2,sos_button,Acme,X1,voice,青山社区,3网格,5栋,2单元,4,401," +
				"王秀英,1941,是,\"耳背，\n请大声说话\",zh-wuu,赵敏,13900000000\r\n",
			want: []*Device{{
				ID: "b-2", Kind: KindSOSButton, Vendor: "Acme", Model: "X1", Capabilities: []string{"voice"},
				Location:   Location{Community: "青山社区", Grid: "3网格", Building: "5栋", Unit: "2单元", Floor: "4", Household: "401"},
				Resident:   Resident{Name: "王秀英", BirthYear: 1941, LivesAlone: true, CareNotes: "耳背，\n请大声说话", Language: "zh-wuu"},
				Contacts:   []Contact{{Name: "王芳", Relation: "女儿", Phone: "13800000001"}, {Name: "李强", Relation: "邻居", Phone: "13800000002"}},
				GridWorker: GridWorker{Name: "赵敏", Phone: "13900000000"},
			}},
		},
		{
			name: "the resident's phone, and a contact told of an SOS",
			in:   "id,kind,community,resident_phone,contacts\nb-3,sos_button,c,13700000000,王芳|女儿|13800000001|sos;李强|邻居|13800000002\n",
			want: []*Device{{ID: "b-3", Kind: KindSOSButton, Location: Location{Community: "c"}, Resident: Resident{Phone: "13700000000"},
				Contacts: []Contact{{Name: "王芳", Relation: "女儿", Phone: "13800000001", NotifySOS: true}, {Name: "李强", Relation: "邻居", Phone: "13800000002"}}}},
		},
		{
			name: "blank rows skipped",
			in:   csvHeader + ",,\n\ng-1,gas,c\n , ,\n",
			want: []*Device{{ID: "g-1", Kind: KindGas, Location: Location{Community: "c"}}},
		},
		{
			name: "header only",
			in:   csvHeader,
		},
		{
			name: "bad rows reported with the line they start on",
			in: "id,kind,community,resident_care_notes\n" +
				"ok-1,smoke,c,\"two\nlines\"\n" + // lines 2-3
				"bad kind,smoke,c,\n" + // line 4
				"ok-2,toaster,c,\n" + // line 5
				"ok-3,smoke,,\n" + // line 6
				"ok-1,smoke,c,\n" + // line 7: duplicate
				"ok-4,smoke\n" + // line 8: short row
				"ok-5,air,c,\"a\n\nb\"\n", // lines 9-11
			want: []*Device{
				{ID: "ok-1", Kind: KindSmoke, Location: Location{Community: "c"}, Resident: Resident{CareNotes: "two\nlines"}},
				{ID: "ok-5", Kind: KindAir, Location: Location{Community: "c"}, Resident: Resident{CareNotes: "a\n\nb"}},
			},
			rowErrs: []RowError{
				{4, "bad kind", "id"},
				{5, "ok-2", "kind \"toaster\""},
				{6, "ok-3", "location.community: required"},
				{7, "ok-1", "duplicate id; first used on line 2"},
				{8, "ok-4", "2 cells, but the header names 4 columns"},
			},
		},
		{
			name: "duplicate of an invalid row",
			in:   csvHeader + "x-1,toaster,c\nx-1,gas,c\n",
			rowErrs: []RowError{
				{2, "x-1", "kind"},
				{3, "x-1", "duplicate id; first used on line 2"},
			},
		},
		{
			name: "unparseable cells",
			in: "id,kind,community,resident_birth_year,resident_lives_alone,contacts,capabilities\n" +
				"a,gas,c,nineteen,,,\n" +
				"b,gas,c,,maybe,,\n" +
				"c,gas,c,,,only-a-name,\n" +
				"d,gas,c,,,,teleport\n" +
				"e,gas,c,1800,,,\n" +
				"f,gas,c,,,||,\n",
			rowErrs: []RowError{
				{2, "a", "resident_birth_year"},
				{3, "b", "resident_lives_alone"},
				{4, "c", "name|relation|phone"},
				{5, "d", "unknown capability \"teleport\""},
				{6, "e", "resident.birth_year 1800"},
				{7, "f", "contacts[0]: name and phone are required"},
			},
		},
		{
			name:    "GBK bytes",
			in:      csvHeader + "a,gas,\xc7\xe0\xc9\xbd\n",
			rowErrs: []RowError{{2, "a", "not valid UTF-8; save the file as \"CSV UTF-8\""}},
		},
		{name: "empty", in: "", err: "empty file"},
		{name: "unknown column", in: "id,kind,community,colour\n", err: `unknown column "colour"`},
		{name: "unnamed column", in: "id,kind,community,\n", err: "column 4 has no name"},
		{name: "missing required", in: "id,community\n", err: `required column "kind" is missing`},
		{name: "column twice", in: "id,kind,community,Kind\n", err: `column "kind" named twice`},
		{name: "broken quoting", in: csvHeader + "a,gas,c\nb,\"gas,c\n", err: "line 3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ds, rowErrs, err := ParseCSV(strings.NewReader(tt.in))
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want it to contain %q", err, tt.err)
				}
				if shouwang.ErrorCode(err) != shouwang.EINVALID {
					t.Errorf("code = %q, want %q", shouwang.ErrorCode(err), shouwang.EINVALID)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseCSV: %v", err)
			}
			if !reflect.DeepEqual(ds, tt.want) {
				t.Errorf("devices:\n got %+v\nwant %+v", ds, tt.want)
			}
			if len(rowErrs) != len(tt.rowErrs) {
				t.Fatalf("row errors = %+v, want %d", rowErrs, len(tt.rowErrs))
			}
			for i, want := range tt.rowErrs {
				got := rowErrs[i]
				if got.Line != want.Line || got.ID != want.ID || !strings.Contains(got.Err, want.Err) {
					t.Errorf("row error %d = %+v, want line %d id %q containing %q", i, got, want.Line, want.ID, want.Err)
				}
			}
		})
	}
}

func TestParseCSVTooManyRows(t *testing.T) {
	var b strings.Builder
	b.WriteString(csvHeader)
	for i := range MaxCSVRows + 1 {
		b.WriteString("d")
		b.WriteString(strings.Repeat("x", i%3)) // duplicates are fine here; the cap comes first
		b.WriteString(",gas,c\n")
	}
	_, _, err := ParseCSV(strings.NewReader(b.String()))
	if err == nil || !strings.Contains(err.Error(), "more than 100000 rows") {
		t.Fatalf("err = %v, want the row cap", err)
	}
}

type failingReader struct{ err error }

func (r failingReader) Read([]byte) (int, error) { return 0, r.err }

func TestParseCSVReadError(t *testing.T) {
	boom := errors.New("boom")
	_, _, err := ParseCSV(io.MultiReader(strings.NewReader(csvHeader+"a,gas,c\n"), failingReader{boom}))
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want the reader's error wrapped", err)
	}
	if shouwang.ErrorCode(err) != shouwang.EINTERNAL {
		t.Errorf("code = %q, want %q", shouwang.ErrorCode(err), shouwang.EINTERNAL)
	}
}

func TestWriteCSVRoundTrip(t *testing.T) {
	ds := []*Device{
		{
			ID: "b-2", Kind: KindSOSButton, Vendor: "Acme, Inc.", Model: "X\"1\"", Capabilities: []string{"voice"},
			Location:   Location{Community: "青山社区", Grid: "3网格", Building: "5栋", Unit: "2单元", Floor: "4", Household: "401"},
			Resident:   Resident{Name: "王秀英", BirthYear: 1941, LivesAlone: true, CareNotes: "耳背\n请大声说话", Language: "zh", Phone: "13700000000"},
			Contacts:   []Contact{{Name: "王芳", Relation: "女儿", Phone: "13800000001", NotifySOS: true}, {Name: "李强", Phone: "13800000002"}},
			GridWorker: GridWorker{Name: "赵敏", Phone: "13900000000"},
		},
		{ID: "g-1", Kind: KindGas, Location: Location{Community: "c"}},
	}
	var buf bytes.Buffer
	if err := WriteCSV(&buf, ds); err != nil {
		t.Fatalf("WriteCSV: %v", err)
	}
	got, rowErrs, err := ParseCSV(&buf)
	if err != nil || len(rowErrs) != 0 {
		t.Fatalf("ParseCSV: %v %+v", err, rowErrs)
	}
	if !reflect.DeepEqual(got, ds) {
		t.Errorf("round trip:\n got %+v\nwant %+v", got, ds)
	}
}

func TestWriteCSVRejectsSeparatorsInContacts(t *testing.T) {
	ds := []*Device{{ID: "a", Kind: KindGas, Location: Location{Community: "c"}, Contacts: []Contact{{Name: "A;B", Phone: "1"}}}}
	if err := WriteCSV(io.Discard, ds); shouwang.ErrorCode(err) != shouwang.EINVALID {
		t.Fatalf("err = %v, want shouwang.EINVALID", err)
	}
}

func FuzzParseCSV(f *testing.F) {
	f.Add([]byte(csvHeader + "b-1,sos_button,c\n"))
	f.Add([]byte("\uFEFFid,kind,community,contacts,resident_lives_alone\r\na,gas,c,\"x|y|1;z||2\",是\r\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		ds, rowErrs, err := ParseCSV(bytes.NewReader(in))
		if err != nil {
			if ds != nil || rowErrs != nil {
				t.Fatalf("devices or row errors returned with error %v", err)
			}
			return
		}
		ids := make(map[string]bool)
		for _, d := range ds {
			if err := d.Validate(); err != nil {
				t.Fatalf("returned device %+v does not validate: %v", d, err)
			}
			if ids[d.ID] {
				t.Fatalf("id %q returned twice", d.ID)
			}
			ids[d.ID] = true
		}
		for _, re := range rowErrs {
			if re.Line < 2 || re.Err == "" {
				t.Fatalf("bad row error %+v", re)
			}
		}
		// What parses must survive a round trip unchanged.
		var buf bytes.Buffer
		if err := WriteCSV(&buf, ds); err != nil {
			t.Fatalf("WriteCSV: %v", err)
		}
		again, rowErrs, err := ParseCSV(&buf)
		if err != nil || len(rowErrs) != 0 {
			t.Fatalf("re-parse: %v %+v\n%s", err, rowErrs, buf.Bytes())
		}
		if len(ds) == 0 {
			ds = nil
		}
		if !reflect.DeepEqual(again, ds) {
			t.Fatalf("round trip:\n got %+v\nwant %+v", again, ds)
		}
	})
}
