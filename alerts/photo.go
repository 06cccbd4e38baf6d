package alerts

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/shouwang-hub/shouwang"
)

// Photo is a picture taken where an alert was handled (a grid worker's
// phone at the household), kept with the alert: the store holds what is
// known of it, the hub's data directory the bytes (under File).
type Photo struct {
	ID          int64     `json:"id"`
	AlertID     int64     `json:"alert_id"`
	At          time.Time `json:"at"`
	By          string    `json:"by"`
	ContentType string    `json:"content_type"` // image/jpeg or image/png, by the bytes themselves
	Size        int64     `json:"size"`
	SHA256      string    `json:"sha256"` // of the bytes, hex
	File        string    `json:"-"`      // the file's name under the alert's photo directory
}

// Photo limits: an alert keeps at most MaxPhotos.
const MaxPhotos = 20

// PhotoTypes are the content types a photo may have.
var PhotoTypes = []string{"image/jpeg", "image/png"}

// photoStates are the states in which a photo may be added: while the alert
// is handled, and once it is resolved (a picture sent from the household
// afterwards).
var photoStates = []State{StateNew, StateAccepted, StateDispatched, StateResolved}

// AddPhoto records a photo of alert p.AlertID taken by actor, inside tx:
// its metadata, a photo entry on the timeline, and a change of the alert so
// every console sees it. The bytes must already be stored. Errors:
// EFORBIDDEN for a role that does not handle alerts, ENOTFOUND for an
// unknown alert or one outside scope, ECONFLICT for a closed alert or one
// with MaxPhotos already, EINVALID for a bad content type.
func (s *Service) AddPhoto(ctx context.Context, tx Tx, p *Photo, actor Actor, scope *Scope, now time.Time) (*Alert, error) {
	if !Permitted(actor.Role, ActionNote) {
		return nil, shouwang.Errorf(shouwang.EFORBIDDEN, "%s %q may not add photos", roleName(actor.Role), actor.Name).
			With("alert.forbidden", "role", actor.Role, "action", "photo")
	}
	if !slices.Contains(PhotoTypes, p.ContentType) {
		return nil, shouwang.Errorf(shouwang.EINVALID, "photo: %s is not a JPEG or PNG picture", clip(p.ContentType)).With("photo.type")
	}
	a, err := tx.FindAlert(ctx, p.AlertID)
	if notFound(err) || err == nil && !scope.Allows(a) {
		return nil, shouwang.Errorf(shouwang.ENOTFOUND, "alert %d not found", p.AlertID).With("alert.not_found", "id", itoa(p.AlertID))
	} else if err != nil {
		return nil, fmt.Errorf("add photo: %w", err)
	}
	if !slices.Contains(photoStates, a.State) {
		return nil, shouwang.Errorf(shouwang.ECONFLICT, "alert %d is %s: photos are added while it is handled", a.ID, a.State).
			With("photo.closed", "id", itoa(a.ID))
	}
	n := 0
	for _, e := range a.Timeline {
		if e.Action == TimelinePhoto {
			n++
		}
	}
	if n >= MaxPhotos {
		return nil, shouwang.Errorf(shouwang.ECONFLICT, "alert %d has %d photos already, the most it keeps", a.ID, n).
			With("photo.too_many", "id", itoa(a.ID), "max", strconv.Itoa(MaxPhotos))
	}
	p.At, p.By = now, actor.Name
	if err := tx.AddPhoto(ctx, p); err != nil {
		return nil, fmt.Errorf("add photo: %w", err)
	}
	o := s.newOp(ctx, tx, now)
	a = o.canon(a, true)
	o.touch(a)
	data := map[string]string{"photo": strconv.FormatInt(p.ID, 10), "mime": p.ContentType, "size": strconv.FormatInt(p.Size, 10)}
	if err := o.log(a, actor, TimelinePhoto, "", data); err != nil {
		return nil, err
	}
	if _, err := o.flush(); err != nil {
		return nil, err
	}
	return a, nil
}
