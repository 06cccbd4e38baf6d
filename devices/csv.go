package devices

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/shouwang-hub/shouwang"
)

// MaxCSVRows caps the data rows of one bulk-import file. The caller caps the
// file's size in bytes.
const MaxCSVRows = 100_000

// CSVColumns lists the columns of the bulk-import format in the order
// WriteCSV writes them. A file may name them in any order and leave out all
// but the required ones.
var CSVColumns = []string{
	"id", "kind", "vendor", "model", "capabilities",
	"community", "grid", "building", "unit", "floor", "household",
	"resident_name", "resident_birth_year", "resident_lives_alone",
	"resident_care_notes", "resident_language",
	"contacts", "grid_worker_name", "grid_worker_phone", "resident_phone",
}

// csvRequired are the columns a header must name.
var csvRequired = []string{"id", "kind", "community"}

// RowError is what is wrong with one data row of an import file.
type RowError struct {
	Line int    `json:"line"` // line in the file where the row starts; the header is line 1
	ID   string `json:"id"`   // the row's id, as written, if any
	Err  string `json:"error"`
}

func (e RowError) Error() string {
	if e.ID == "" {
		return fmt.Sprintf("line %d: %s", e.Line, e.Err)
	}
	return fmt.Sprintf("line %d: %s: %s", e.Line, e.ID, e.Err)
}

// ParseCSV reads an installer's bulk-import file: a header row naming
// columns from CSVColumns in any order, then one device per row. Every
// returned device passes Validate. Rows that do not are returned as
// RowErrors, one per bad row, with the line where the row starts; so are
// duplicate IDs, on their second occurrence. Rows whose cells are all empty
// (spreadsheets write them) are skipped. A leading UTF-8 byte-order mark is
// ignored.
//
// The error is an EINVALID *shouwang.Error when the file as a whole is unusable (no
// header, a bad header, broken CSV quoting, more than MaxCSVRows rows), and
// the reader's own error, wrapped, when reading fails.
func ParseCSV(r io.Reader) ([]*Device, []RowError, error) {
	rows, rowErrs, err := ParseCSVRows(r)
	if err != nil {
		return nil, nil, err
	}
	var ds []*Device
	for _, row := range rows {
		ds = append(ds, row.Device)
	}
	return ds, rowErrs, nil
}

// CSVRow is a valid device from an import file and the line its row starts
// on, for errors found later (an ID already registered).
type CSVRow struct {
	Line   int
	Device *Device
}

// ParseCSVRows is ParseCSV, keeping each device's line.
func ParseCSVRows(r io.Reader) ([]CSVRow, []RowError, error) {
	br := bufio.NewReader(r)
	if bom, err := br.Peek(3); err == nil && string(bom) == "\uFEFF" {
		br.Discard(3)
	}
	cr := csv.NewReader(br)
	cr.FieldsPerRecord = -1 // checked per row, so a short row is a row error
	header, err := cr.Read()
	if err == io.EOF {
		return nil, nil, shouwang.Errorf(shouwang.EINVALID, "empty file: the first line must name the columns (%s)", strings.Join(CSVColumns, ","))
	} else if err != nil {
		return nil, nil, csvReadError(err)
	}
	cols, err := parseCSVHeader(header)
	if err != nil {
		return nil, nil, err
	}

	var (
		rows    []CSVRow
		rowErrs []RowError
		seen    = make(map[string]int) // id → line of first occurrence
		n       int
	)
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		} else if err != nil {
			return nil, nil, csvReadError(err)
		}
		line, _ := cr.FieldPos(0)
		if blankRecord(rec) {
			continue
		}
		if n++; n > MaxCSVRows {
			return nil, nil, shouwang.Errorf(shouwang.EINVALID, "more than %d rows; split the file", MaxCSVRows)
		}
		id := ""
		if len(rec) > cols["id"] {
			id = strings.TrimSpace(rec[cols["id"]])
		}
		if len(rec) != len(header) {
			rowErrs = append(rowErrs, RowError{line, id, fmt.Sprintf("%d cells, but the header names %d columns", len(rec), len(header))})
			continue
		}
		first, dup := seen[id]
		if !dup && id != "" {
			seen[id] = line
		}
		d, err := deviceFromRecord(cols, rec)
		if err == nil {
			err = d.Validate()
		}
		switch {
		case err != nil:
			rowErrs = append(rowErrs, RowError{line, id, shouwang.ErrorMessage(err)})
		case dup:
			rowErrs = append(rowErrs, RowError{line, id, fmt.Sprintf("duplicate id; first used on line %d", first)})
		default:
			rows = append(rows, CSVRow{line, d})
		}
	}
	return rows, rowErrs, nil
}

func csvReadError(err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return shouwang.Errorf(shouwang.EINVALID, "line %d: %v", pe.Line, pe.Err)
	}
	return fmt.Errorf("read csv: %w", err)
}

// parseCSVHeader maps each known column name to its index.
func parseCSVHeader(header []string) (map[string]int, error) {
	cols := make(map[string]int, len(header))
	for i, h := range header {
		name := strings.ToLower(strings.TrimSpace(h))
		if name == "" {
			return nil, shouwang.Errorf(shouwang.EINVALID, "line 1: column %d has no name", i+1)
		}
		if !slices.Contains(CSVColumns, name) {
			return nil, shouwang.Errorf(shouwang.EINVALID, "line 1: unknown column %q (known: %s)", clip(h), strings.Join(CSVColumns, ", "))
		}
		if _, dup := cols[name]; dup {
			return nil, shouwang.Errorf(shouwang.EINVALID, "line 1: column %q named twice", name)
		}
		cols[name] = i
	}
	for _, name := range csvRequired {
		if _, ok := cols[name]; !ok {
			return nil, shouwang.Errorf(shouwang.EINVALID, "line 1: required column %q is missing (required: %s)", name, strings.Join(csvRequired, ", "))
		}
	}
	return cols, nil
}

func blankRecord(rec []string) bool {
	for _, f := range rec {
		if strings.TrimSpace(f) != "" {
			return false
		}
	}
	return true
}

// deviceFromRecord builds a device from one row. It reports the cells it
// cannot parse; Validate checks the rest.
func deviceFromRecord(cols map[string]int, rec []string) (*Device, error) {
	get := func(name string) string {
		if i, ok := cols[name]; ok {
			return strings.TrimSpace(rec[i])
		}
		return ""
	}
	for _, name := range CSVColumns {
		if !utf8.ValidString(get(name)) {
			return nil, shouwang.Errorf(shouwang.EINVALID, "%s: not valid UTF-8; save the file as \"CSV UTF-8\"", name)
		}
	}
	d := &Device{
		ID:     get("id"),
		Kind:   Kind(get("kind")),
		Vendor: get("vendor"),
		Model:  get("model"),
		Location: Location{
			Community: get("community"),
			Grid:      get("grid"),
			Building:  get("building"),
			Unit:      get("unit"),
			Floor:     get("floor"),
			Household: get("household"),
		},
		Resident: Resident{
			Name:      get("resident_name"),
			CareNotes: get("resident_care_notes"),
			Language:  get("resident_language"),
			Phone:     get("resident_phone"),
		},
		GridWorker: GridWorker{
			Name:  get("grid_worker_name"),
			Phone: get("grid_worker_phone"),
		},
	}
	for c := range strings.SplitSeq(get("capabilities"), ";") {
		if c = strings.TrimSpace(c); c != "" {
			d.Capabilities = append(d.Capabilities, c)
		}
	}
	if s := get("resident_birth_year"); s != "" {
		y, err := strconv.Atoi(s)
		if err != nil {
			return nil, shouwang.Errorf(shouwang.EINVALID, "resident_birth_year %q: not a year", clip(s))
		}
		d.Resident.BirthYear = y
	}
	if s := get("resident_lives_alone"); s != "" {
		b, ok := parseCSVBool(s)
		if !ok {
			return nil, shouwang.Errorf(shouwang.EINVALID, "resident_lives_alone %q: must be true/false, yes/no, 1/0 or 是/否", clip(s))
		}
		d.Resident.LivesAlone = b
	}
	if s := get("contacts"); s != "" {
		for entry := range strings.SplitSeq(s, ";") {
			if strings.TrimSpace(entry) == "" {
				continue
			}
			// A fourth field "sos" opts the contact in to be told of an SOS.
			parts := strings.Split(entry, "|")
			if len(parts) != 3 && (len(parts) != 4 || !strings.EqualFold(strings.TrimSpace(parts[3]), "sos")) {
				return nil, shouwang.Errorf(shouwang.EINVALID, "contacts %q: each contact must be name|relation|phone (or name|relation|phone|sos to be told of an SOS), contacts separated by ';'", clip(entry))
			}
			d.Contacts = append(d.Contacts, Contact{
				Name:      strings.TrimSpace(parts[0]),
				Relation:  strings.TrimSpace(parts[1]),
				Phone:     strings.TrimSpace(parts[2]),
				NotifySOS: len(parts) == 4,
			})
		}
	}
	return d, nil
}

func parseCSVBool(s string) (v, ok bool) {
	switch strings.ToLower(s) {
	case "true", "yes", "1", "是", "y":
		return true, true
	case "false", "no", "0", "否", "n":
		return false, true
	}
	return false, false
}

// WriteCSV writes ds in the format ParseCSV reads, with every column of
// CSVColumns. It fails on a contact whose fields contain '|' or ';', which
// the format cannot carry.
func WriteCSV(w io.Writer, ds []*Device) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(CSVColumns); err != nil {
		return fmt.Errorf("write csv: %w", err)
	}
	for _, d := range ds {
		contacts := make([]string, len(d.Contacts))
		for i, c := range d.Contacts {
			for _, f := range []string{c.Name, c.Relation, c.Phone} {
				if strings.ContainsAny(f, "|;") {
					return shouwang.Errorf(shouwang.EINVALID, "device %s: contacts[%d] contains '|' or ';', which CSV contacts cannot carry", d.ID, i)
				}
			}
			contacts[i] = c.Name + "|" + c.Relation + "|" + c.Phone
			if c.NotifySOS {
				contacts[i] += "|sos"
			}
		}
		birth := ""
		if d.Resident.BirthYear != 0 {
			birth = strconv.Itoa(d.Resident.BirthYear)
		}
		rec := []string{
			d.ID, string(d.Kind), d.Vendor, d.Model, strings.Join(d.Capabilities, ";"),
			d.Location.Community, d.Location.Grid, d.Location.Building, d.Location.Unit, d.Location.Floor, d.Location.Household,
			d.Resident.Name, birth, strconv.FormatBool(d.Resident.LivesAlone),
			d.Resident.CareNotes, d.Resident.Language,
			strings.Join(contacts, ";"), d.GridWorker.Name, d.GridWorker.Phone, d.Resident.Phone,
		}
		if err := cw.Write(rec); err != nil {
			return fmt.Errorf("write csv: %w", err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("write csv: %w", err)
	}
	return nil
}
