package hub

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/jpeg"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shouwang-hub/shouwang"
	"github.com/shouwang-hub/shouwang/alerts"
)

func encodeJPEG(t *testing.T, w, h int) []byte {
	var b bytes.Buffer
	if err := jpeg.Encode(&b, image.NewRGBA(image.Rect(0, 0, w, h)), nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// pngClaiming returns a PNG that is valid up to its header, which claims
// w×h pixels: what a decompression bomb looks like before decoding.
func pngClaiming(t *testing.T, w, h uint32) []byte {
	var b bytes.Buffer
	if err := png.Encode(&b, image.NewGray(image.Rect(0, 0, 1, 1))); err != nil {
		t.Fatal(err)
	}
	p := b.Bytes()
	binary.BigEndian.PutUint32(p[16:], w) // IHDR's width and height
	binary.BigEndian.PutUint32(p[20:], h)
	binary.BigEndian.PutUint32(p[29:], crc32.ChecksumIEEE(p[12:29]))
	return p
}

// A photo is what its bytes say: a JPEG or PNG whose header reads with
// sane dimensions; anything else, whatever it claims, is refused by name.
func TestCheckPhoto(t *testing.T) {
	var pngOK bytes.Buffer
	if err := png.Encode(&pngOK, image.NewGray(image.Rect(0, 0, 40, 30))); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, want, key string
		data            []byte
	}{
		{"jpeg", "image/jpeg", "", encodeJPEG(t, 64, 48)},
		{"png", "image/png", "", pngOK.Bytes()},
		{"empty", "", "photo.empty", nil},
		{"html", "", "photo.type", []byte("<html><script>alert(1)</script></html>")},
		{"gif", "", "photo.type", []byte("GIF89a\x01\x00\x01\x00\x00\x00\x00;")},
		{"jpeg magic, then junk", "", "photo.type", append([]byte{0xff, 0xd8, 0xff, 0xe0}, bytes.Repeat([]byte("x"), 64)...)},
		{"a 100000-pixel-wide png", "", "photo.dimensions", pngClaiming(t, 100000, 10)},
		{"over 8 MB", "", "photo.too_large", append(encodeJPEG(t, 8, 8), make([]byte, MaxPhotoBytes)...)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := CheckPhoto(tc.data)
			key, _ := shouwang.ErrorKey(err)
			if got != tc.want || key != tc.key || (tc.key != "") != (shouwang.ErrorCode(err) == shouwang.EINVALID) {
				t.Errorf("CheckPhoto = %q, %v (key %q); want %q, key %q", got, err, key, tc.want, tc.key)
			}
		})
	}
}

// A photo's bytes are kept under the alert's directory before the store
// records them, and are served back whole; a photo the store refuses
// leaves no file behind; one outside a grid worker's scope is not found.
func TestAlertingPhotos(t *testing.T) {
	clock := &testClock{t: time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)}
	a, mem := newTestAlerting(t, newMemSource(), `{}`, clock)
	a.cfg.PhotoDir = filepath.Join(t.TempDir(), "photos")
	al := &alerts.Alert{Kind: alerts.KindSOS, Severity: alerts.SeverityCritical, State: alerts.StateAccepted, DeviceID: "sos-1",
		OpenedAt: clock.Now(), UpdatedAt: clock.Now()}
	al.Device.Location.Community, al.Device.Location.Grid = "阳光社区", "网格一"
	if err := mem.InTx(t.Context(), func(tx alerts.Tx) error { return tx.CreateAlert(t.Context(), al) }); err != nil {
		t.Fatal(err)
	}
	by := alerts.Actor{Name: "zhang", Role: "gridworker"}
	pic := encodeJPEG(t, 32, 32)
	p, err := a.AddPhoto(t.Context(), al.ID, pic, by, nil)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(a.cfg.PhotoDir, "1", p.SHA256+".jpg")
	if b, err := os.ReadFile(path); err != nil || !bytes.Equal(b, pic) {
		t.Fatalf("the file %s: %v", path, err)
	}
	got, f, err := a.OpenPhoto(t.Context(), al.ID, p.ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(f)
	f.Close()
	if !bytes.Equal(b, pic) || got.ContentType != "image/jpeg" || got.By != "zhang" {
		t.Errorf("OpenPhoto: %+v, %d bytes", got, len(b))
	}
	elsewhere := &alerts.Scope{User: "wang"}
	if _, _, err := a.OpenPhoto(t.Context(), al.ID, p.ID, elsewhere); shouwang.ErrorCode(err) != shouwang.ENOTFOUND {
		t.Errorf("OpenPhoto outside the scope: %v", err)
	}
	if _, err := a.AddPhoto(t.Context(), al.ID, encodeJPEG(t, 16, 16), by, elsewhere); shouwang.ErrorCode(err) != shouwang.ENOTFOUND {
		t.Errorf("AddPhoto outside the scope: %v", err)
	}
	// The store fails: the new file goes.
	mem.SetFail(func(op string) error {
		if op == "AddPhoto" {
			return errors.New("disk full")
		}
		return nil
	})
	other := encodeJPEG(t, 20, 20)
	if _, err := a.AddPhoto(t.Context(), al.ID, other, by, nil); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("AddPhoto with a failing store: %v", err)
	}
	mem.SetFail(nil)
	entries, _ := os.ReadDir(filepath.Join(a.cfg.PhotoDir, "1"))
	if len(entries) != 1 {
		t.Errorf("%d files after a refused photo, want the first only", len(entries))
	}
	if _, err := a.AddPhoto(t.Context(), al.ID, []byte("not a photo"), by, nil); shouwang.ErrorCode(err) != shouwang.EINVALID {
		t.Errorf("AddPhoto of text: %v", err)
	}
}
