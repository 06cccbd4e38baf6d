package hub

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"image"
	_ "image/jpeg" // DecodeConfig reads a JPEG's header
	_ "image/png"  // and a PNG's
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/shouwang-hub/shouwang"
	"github.com/shouwang-hub/shouwang/alerts"
	"github.com/shouwang-hub/shouwang/internal/atomicfile"
)

// Photos taken where an alert is handled live in the data directory, one
// directory per alert (<data>/photos/<alert id>/<sha256>.<ext>), their
// metadata in the store. A file is written (atomically) before the store
// records it, so a recorded photo always has its bytes; a file whose record
// failed is removed again.

// Photo limits: a phone's photo is a few MB; a bigger body is refused
// before it is read, and a picture beyond these dimensions (a
// decompression bomb, or not a photo) is refused.
const (
	MaxPhotoBytes      = 8 << 20
	maxPhotoDimension  = 12000
	maxPhotoMegapixels = 100
)

// photoExt is a photo's file extension by content type.
var photoExt = map[string]string{"image/jpeg": ".jpg", "image/png": ".png"}

// CheckPhoto decides what data is by its bytes, not by what the sender
// said: a JPEG or PNG whose header decodes to sane dimensions. It returns
// the content type, or an EINVALID error saying why not.
func CheckPhoto(data []byte) (string, error) {
	if len(data) == 0 {
		return "", shouwang.Errorf(shouwang.EINVALID, "photo: empty").With("photo.empty")
	}
	if len(data) > MaxPhotoBytes {
		return "", shouwang.Errorf(shouwang.EINVALID, "photo: %d bytes, more than %d", len(data), MaxPhotoBytes).
			With("photo.too_large", "max_mb", strconv.Itoa(MaxPhotoBytes>>20))
	}
	ctype := http.DetectContentType(data)
	if _, ok := photoExt[ctype]; !ok {
		return "", shouwang.Errorf(shouwang.EINVALID, "photo: the bytes are %s, not a JPEG or PNG picture", ctype).With("photo.type")
	}
	cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil || "image/"+format != ctype {
		return "", shouwang.Errorf(shouwang.EINVALID, "photo: not a readable %s picture", ctype).With("photo.type")
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || cfg.Width > maxPhotoDimension || cfg.Height > maxPhotoDimension ||
		int64(cfg.Width)*int64(cfg.Height) > maxPhotoMegapixels*1_000_000 {
		return "", shouwang.Errorf(shouwang.EINVALID, "photo: %d×%d pixels is not a photo this hub keeps", cfg.Width, cfg.Height).With("photo.dimensions")
	}
	return ctype, nil
}

// photoDir is where an alert's photos live.
func (a *Alerting) photoDir(alertID int64) string {
	return filepath.Join(a.cfg.PhotoDir, strconv.FormatInt(alertID, 10))
}

// AddPhoto checks data is a photo, keeps it with the alert and records it
// on the alert's timeline, by actor within scope; every console sees the
// change.
func (a *Alerting) AddPhoto(ctx context.Context, alertID int64, data []byte, by alerts.Actor, scope *alerts.Scope) (*alerts.Photo, error) {
	if a.cfg.PhotoDir == "" {
		return nil, shouwang.Errorf(shouwang.EINVALID, "photos are not kept by this hub").With("photo.off")
	}
	ctype, err := CheckPhoto(data)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(data)
	p := &alerts.Photo{AlertID: alertID, ContentType: ctype, Size: int64(len(data)), SHA256: hex.EncodeToString(sum[:])}
	p.File = p.SHA256 + photoExt[ctype]
	dir := a.photoDir(alertID)
	path := filepath.Join(dir, p.File)
	_, statErr := os.Stat(path)
	existed := statErr == nil // the same picture sent twice is one file
	if !existed {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, fmt.Errorf("add photo: %w", err)
		}
		if err := atomicfile.Write(path, data, 0o640); err != nil {
			return nil, fmt.Errorf("add photo: %w", err)
		}
	}
	err = a.Update(ctx, func(tx *AlertTx) error { return tx.AddPhoto(ctx, p, by, scope) })
	if err != nil {
		if !existed {
			os.Remove(path)
		}
		return nil, err
	}
	return p, nil
}

// AddPhoto records a photo whose bytes are stored, on its alert's timeline.
func (t *AlertTx) AddPhoto(ctx context.Context, p *alerts.Photo, by alerts.Actor, scope *alerts.Scope) error {
	al, err := t.svc.AddPhoto(ctx, t.tx, p, by, scope, t.now())
	t.changed(al)
	return err
}

// OpenPhoto returns a photo of an alert within scope and its bytes; the
// caller closes them.
func (a *Alerting) OpenPhoto(ctx context.Context, alertID, photoID int64, scope *alerts.Scope) (*alerts.Photo, io.ReadSeekCloser, error) {
	if scope != nil {
		al, err := a.cfg.Store.FindAlert(ctx, alertID)
		if err != nil {
			return nil, nil, err
		}
		if !scope.Allows(al) {
			return nil, nil, shouwang.Errorf(shouwang.ENOTFOUND, "alert %d not found", alertID).With("alert.not_found", "id", strconv.FormatInt(alertID, 10))
		}
	}
	p, err := a.cfg.Store.FindPhoto(ctx, alertID, photoID)
	if err != nil {
		return nil, nil, err
	}
	f, err := os.Open(filepath.Join(a.photoDir(alertID), filepath.Base(p.File)))
	if err != nil {
		return nil, nil, fmt.Errorf("open photo %d of alert %d: %w", photoID, alertID, err)
	}
	return p, f, nil
}

// PeriodAlerts returns the alerts opened in [from, to), tests excluded, for
// the closed loop's figures and reports.
func (a *Alerting) PeriodAlerts(ctx context.Context, from, to time.Time) ([]*alerts.Alert, error) {
	return a.cfg.Store.PeriodAlerts(ctx, from, to)
}
