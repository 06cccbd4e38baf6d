package console

import (
	"cmp"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"runtime"
	"slices"
	"strings"
	"sync"

	"github.com/shouwang-hub/shouwang"
	"github.com/shouwang-hub/shouwang/devices"
)

// maxCSVBody caps an import file.
const maxCSVBody = 10 << 20

// Credential is a device's MQTT password, shown once after an import.
type Credential struct {
	ID       string `json:"id"`
	Password string `json:"password"`
}

type importResult struct {
	Imported    int          `json:"imported"`
	Credentials []Credential `json:"credentials"`
	// Warned counts the imported rows with a warning, Warnings lists them
	// by line (devices.PlacementWarnings), the first maxRowsShown of them:
	// registered, but their household is in doubt.
	Warned   int               `json:"warned"`
	Warnings []devices.Warning `json:"warnings,omitempty"`
}

// importDevices registers every device of a CSV file, or none: any bad row,
// or any ID already registered, fails the whole file with every problem
// listed by line.
func (s *Server) importDevices(w http.ResponseWriter, r *http.Request) {
	if mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "text/csv" {
		s.writeError(w, r, shouwang.Errorf(eUnsupportedMedia, "Content-Type must be text/csv"))
		return
	} else if cs := params["charset"]; cs != "" && !strings.EqualFold(cs, "utf-8") {
		s.writeError(w, r, shouwang.Errorf(eUnsupportedMedia, "charset %q: the file must be UTF-8 (save it as \"CSV UTF-8\")", cs))
		return
	}
	rows, rowErrs, err := devices.ParseCSVRows(http.MaxBytesReader(w, r.Body, maxCSVBody))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			err = shouwang.Errorf(eTooLarge, "file larger than %d MiB; split it", maxCSVBody>>20)
		}
		s.writeError(w, r, err)
		return
	}
	// Report IDs already registered alongside the file's own errors, so one
	// round of fixes is enough.
	for _, row := range rows {
		_, err := s.cfg.Registry.FindDevice(r.Context(), row.Device.ID)
		switch shouwang.ErrorCode(err) {
		case shouwang.ENOTFOUND:
		case "":
			rowErrs = append(rowErrs, devices.RowError{Line: row.Line, ID: row.Device.ID, Err: "id is already registered"})
		default:
			s.writeError(w, r, fmt.Errorf("find device: %w", err))
			return
		}
	}
	if len(rowErrs) > 0 {
		slices.SortStableFunc(rowErrs, func(a, b devices.RowError) int { return cmp.Compare(a.Line, b.Line) })
		s.writeError(w, r, &rowsError{
			err:  shouwang.Errorf(shouwang.EINVALID, "%d rows have errors; nothing was imported", len(rowErrs)),
			rows: rowErrs,
		})
		return
	}
	if len(rows) == 0 {
		s.writeError(w, r, shouwang.Errorf(shouwang.EINVALID, "the file has no device rows"))
		return
	}

	ds := make([]*devices.Device, len(rows))
	for i, row := range rows {
		ds[i] = row.Device
	}
	creds, hashes := newCredentials(ds)
	if err := s.cfg.Registry.ImportDevices(r.Context(), ds, hashes); err != nil {
		s.writeError(w, r, fmt.Errorf("import devices: %w", err))
		return
	}
	for _, d := range ds {
		s.cfg.OnDeviceChange(d.ID)
	}
	lines := make([]int, len(rows))
	for i, row := range rows {
		lines[i] = row.Line
	}
	warnings := s.placementWarnings(r.Context(), ds, lines)
	s.log.Info("devices imported", "count", len(ds), "warned", warnedDevices(warnings), "by", sessionFrom(r.Context()).user.Username)
	writeJSON(w, http.StatusCreated, importResult{Imported: len(ds), Credentials: creds, Warned: warnedDevices(warnings), Warnings: warnings[:min(len(warnings), maxRowsShown)]})
}

// newCredentials makes a fresh password for each device, hashing them on
// every core: a large import hashes many thousands.
func newCredentials(ds []*devices.Device) ([]Credential, []string) {
	creds := make([]Credential, len(ds))
	hashes := make([]string, len(ds))
	var wg sync.WaitGroup
	workers := min(runtime.GOMAXPROCS(0), len(ds))
	for w := range workers {
		wg.Go(func() {
			for i := w; i < len(ds); i += workers {
				pw := devices.NewPassword()
				creds[i] = Credential{ID: ds[i].ID, Password: pw}
				hashes[i] = devices.HashPassword(pw)
			}
		})
	}
	wg.Wait()
	return creds, hashes
}
