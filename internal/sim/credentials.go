package sim

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/shouwang-hub/shouwang/devices"
	"github.com/shouwang-hub/shouwang/internal/atomicfile"
)

// The files of a credentials directory. devices.csv is the import format
// (devices.WriteCSV), so an installer can read it or import it elsewhere;
// credentials.csv holds "id,password" rows and is readable by its owner only.
const (
	DevicesFile     = "devices.csv"
	CredentialsFile = "credentials.csv"
)

// SaveCredentials writes specs into the directory dir, creating it: the
// devices to DevicesFile and their passwords to CredentialsFile (mode 0600).
func SaveCredentials(dir string, specs []DeviceSpec) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("save credentials: %w", err)
	}
	ds := make([]*devices.Device, len(specs))
	var creds bytes.Buffer
	cw := csv.NewWriter(&creds)
	cw.Write([]string{"id", "password"})
	for i, s := range specs {
		if s.Device == nil {
			return fmt.Errorf("save credentials: specs[%d]: nil device", i)
		}
		ds[i] = s.Device
		cw.Write([]string{s.Device.ID, s.Password})
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("save credentials: %w", err)
	}
	var list bytes.Buffer
	if err := devices.WriteCSV(&list, ds); err != nil {
		return fmt.Errorf("save credentials: %w", err)
	}
	if err := atomicfile.Write(filepath.Join(dir, DevicesFile), list.Bytes(), 0o644); err != nil {
		return fmt.Errorf("save credentials: %w", err)
	}
	if err := atomicfile.Write(filepath.Join(dir, CredentialsFile), creds.Bytes(), 0o600); err != nil {
		return fmt.Errorf("save credentials: %w", err)
	}
	return nil
}

// LoadCredentials reads a directory written by SaveCredentials and returns
// its devices in file order with their passwords. Every device needs a
// password; passwords of devices not in DevicesFile are ignored, so a
// trimmed device list simulates a part of a community.
func LoadCredentials(dir string) ([]DeviceSpec, error) {
	f, err := os.Open(filepath.Join(dir, DevicesFile))
	if err != nil {
		return nil, fmt.Errorf("load credentials: %w", err)
	}
	defer f.Close()
	ds, rowErrs, err := devices.ParseCSV(f)
	if err != nil {
		return nil, fmt.Errorf("load credentials: %s: %w", DevicesFile, err)
	}
	if len(rowErrs) > 0 {
		return nil, fmt.Errorf("load credentials: %s: %w (and %d more bad rows)", DevicesFile, rowErrs[0], len(rowErrs)-1)
	}
	pw, err := readPasswords(filepath.Join(dir, CredentialsFile))
	if err != nil {
		return nil, fmt.Errorf("load credentials: %w", err)
	}
	specs := make([]DeviceSpec, len(ds))
	for i, d := range ds {
		p, ok := pw[d.ID]
		if !ok {
			return nil, fmt.Errorf("load credentials: %s has no password in %s", d.ID, CredentialsFile)
		}
		specs[i] = DeviceSpec{Device: d, Password: p}
	}
	return specs, nil
}

func readPasswords(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.FieldsPerRecord = 2
	header, err := r.Read()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, emptyIsEOF(err))
	}
	if strings.Join(header, ",") != "id,password" {
		return nil, fmt.Errorf("%s: header %q: want id,password", path, strings.Join(header, ","))
	}
	pw := map[string]string{}
	for {
		rec, err := r.Read()
		if err == io.EOF {
			return pw, nil
		} else if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		pw[rec[0]] = rec[1]
	}
}

func emptyIsEOF(err error) error {
	if errors.Is(err, io.EOF) {
		return errors.New("empty file")
	}
	return err
}
