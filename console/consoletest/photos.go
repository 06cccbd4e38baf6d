package consoletest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"sync"

	"github.com/shouwang-hub/shouwang"
	"github.com/shouwang-hub/shouwang/alerts"
	"github.com/shouwang-hub/shouwang/console"
)

// Photos is a console.PhotoService over Alerts: the real domain records a
// photo on the alert; the bytes stay in memory. It tells a JPEG or PNG by
// the bytes as the hub does (the hub also decodes the header, which this
// fake leaves out).
type Photos struct {
	alerts *Alerts
	mu     sync.Mutex
	bytes  map[int64][]byte
}

var _ console.PhotoService = (*Photos)(nil)

// NewPhotos keeps photos of a's alerts.
func NewPhotos(a *Alerts) *Photos { return &Photos{alerts: a, bytes: map[int64][]byte{}} }

// AddPhoto implements console.PhotoService.
func (p *Photos) AddPhoto(ctx context.Context, alertID int64, data []byte, by alerts.Actor, scope *alerts.Scope) (*alerts.Photo, error) {
	ctype := http.DetectContentType(data)
	if ctype != "image/jpeg" && ctype != "image/png" {
		return nil, shouwang.Errorf(shouwang.EINVALID, "photo: the bytes are %s, not a JPEG or PNG picture", ctype).With("photo.type")
	}
	sum := sha256.Sum256(data)
	ph := &alerts.Photo{AlertID: alertID, ContentType: ctype, Size: int64(len(data)), SHA256: hex.EncodeToString(sum[:])}
	ph.File = ph.SHA256
	err := p.alerts.store.InTx(ctx, func(tx alerts.Tx) error {
		_, err := p.alerts.svc.AddPhoto(ctx, tx, ph, by, scope, p.alerts.now())
		return err
	})
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	p.bytes[ph.ID] = bytes.Clone(data)
	p.mu.Unlock()
	return ph, nil
}

// OpenPhoto implements console.PhotoService.
func (p *Photos) OpenPhoto(ctx context.Context, alertID, photoID int64, scope *alerts.Scope) (*alerts.Photo, io.ReadSeekCloser, error) {
	a, err := p.alerts.store.FindAlert(ctx, alertID)
	if err != nil {
		return nil, nil, err
	}
	if !scope.Allows(a) {
		return nil, nil, shouwang.Errorf(shouwang.ENOTFOUND, "alert %d not found", alertID)
	}
	ph, err := p.alerts.store.FindPhoto(ctx, alertID, photoID)
	if err != nil {
		return nil, nil, err
	}
	p.mu.Lock()
	b := p.bytes[photoID]
	p.mu.Unlock()
	return ph, nopCloser{bytes.NewReader(b)}, nil
}

type nopCloser struct{ *bytes.Reader }

func (nopCloser) Close() error { return nil }
