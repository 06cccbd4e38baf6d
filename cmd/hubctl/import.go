package main

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"

	"github.com/shouwang-hub/shouwang/devices"
)

type credential struct {
	ID       string `json:"id"`
	Password string `json:"password"`
}

// devicesImport sends a CSV file to the console. Bad rows are printed as
// FILE:LINE: ID: problem, so an editor can jump to them. The credentials go
// to -out (a new file, readable by its owner only) or to stdout. -out is
// created before importing, so a bad path cannot lose the passwords.
func (c *cli) devicesImport(args []string) error {
	fs := c.newFlags("devices import", "devices import FILE.csv [-out creds.csv]")
	out := fs.String("out", "", "write the credentials CSV (id,password) to this new file instead of stdout")
	pos, err := parse(fs, args, "FILE.csv")
	if err != nil {
		return err
	}
	name := pos[0]
	var in io.Reader = c.stdin
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return err
		}
		defer f.Close()
		in = f
	}

	var outFile *os.File
	if *out != "" {
		outFile, err = os.OpenFile(*out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, os.ErrExist) {
			return fmt.Errorf("%s exists; choose another -out or remove it first", *out)
		} else if err != nil {
			return err
		}
	}
	creds, warned, err := c.sendImport(name, in)
	if err != nil {
		if outFile != nil {
			outFile.Close()
			os.Remove(*out)
		}
		return err
	}

	if outFile != nil {
		err := writeCredentials(outFile, creds)
		if cerr := outFile.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			// The devices are registered: never lose their passwords.
			writeCredentials(c.stdout, creds)
			return fmt.Errorf("write %s: %w; the credentials are printed above instead", *out, err)
		}
		fmt.Fprintf(c.stderr, "Imported %s%s. Their MQTT credentials are in %s, and nowhere else: keep it safe.\n", countDevices(len(creds)), warnedNote(warned), *out)
		return nil
	}
	if err := writeCredentials(c.stdout, creds); err != nil {
		return fmt.Errorf("write credentials: %w", err)
	}
	fmt.Fprintf(c.stderr, "Imported %s%s. Their MQTT credentials above are shown only this once: keep them safe.\n", countDevices(len(creds)), warnedNote(warned))
	return nil
}

// sendImport posts the file and prints its bad rows, if any, or the
// warnings about the rows it registered; it returns how many rows were
// warned about.
func (c *cli) sendImport(name string, in io.Reader) ([]credential, int, error) {
	var resp struct {
		Imported    int               `json:"imported"`
		Credentials []credential      `json:"credentials"`
		Warned      int               `json:"warned"`
		Warnings    []devices.Warning `json:"warnings"`
	}
	err := c.call(request{method: http.MethodPost, path: "/api/v1/devices/import", body: in, contentType: "text/csv; charset=utf-8", auth: true}, &resp)
	var ae *apiError
	if errors.As(err, &ae) && len(ae.Rows) > 0 {
		for _, r := range ae.Rows {
			if r.ID != "" {
				fmt.Fprintf(c.stderr, "%s:%d: %s: %s\n", name, r.Line, r.ID, r.Err)
			} else {
				fmt.Fprintf(c.stderr, "%s:%d: %s\n", name, r.Line, r.Err)
			}
		}
		if len(ae.Rows) > 0 && len(ae.Rows) < countRows(ae.Message) {
			fmt.Fprintf(c.stderr, "%s: (only the first %d are listed)\n", name, len(ae.Rows))
		}
		return nil, 0, fmt.Errorf("%s: %s", name, ae.Message)
	} else if err != nil {
		return nil, 0, fmt.Errorf("%s: %w", name, err)
	}
	printWarnings(c.stderr, resp.Warnings, func(w devices.Warning) string { return fmt.Sprintf("%s:%d: %s: ", name, w.Line, w.ID) })
	return resp.Credentials, resp.Warned, nil
}

// warnedNote says how many imported rows were warned about, if any.
func warnedNote(n int) string {
	switch n {
	case 0:
		return ""
	case 1:
		return " (1 with a warning above: check its place)"
	}
	return fmt.Sprintf(" (%d with warnings above: check their place)", n)
}

// countRows reads N from the console's "N rows have errors" message.
func countRows(msg string) int {
	var n int
	fmt.Sscanf(msg, "%d rows", &n)
	return n
}

func writeCredentials(w io.Writer, creds []credential) error {
	cw := csv.NewWriter(w)
	cw.Write([]string{"id", "password"})
	for _, cr := range creds {
		cw.Write([]string{cr.ID, cr.Password})
	}
	cw.Flush()
	return cw.Error()
}

// countDevices says n devices in English ("1 device", "2 devices").
func countDevices(n int) string {
	if n == 1 {
		return "1 device"
	}
	return fmt.Sprintf("%d devices", n)
}
