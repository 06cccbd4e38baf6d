package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/shouwang-hub/shouwang"
	"github.com/shouwang-hub/shouwang/devices"
)

// Listing limits of ListDevices.
const (
	DefaultListLimit = 100
	MaxListLimit     = 1000
)

// deviceCols are the columns scanDevice reads, in its order.
const deviceCols = `id, kind, vendor, model, capabilities,
	community, grid, building, unit, floor, household,
	resident_name, resident_birth_year, resident_lives_alone, resident_care_notes, resident_language, resident_phone,
	contacts, grid_worker_name, grid_worker_phone, source, gateway, address,
	last_seen, online, battery, signal_dbm, created_at, updated_at`

const insertDevice = `INSERT INTO devices (id, kind, vendor, model, capabilities,
	community, grid, building, unit, floor, household,
	resident_name, resident_birth_year, resident_lives_alone, resident_care_notes, resident_language, resident_phone,
	contacts, grid_worker_name, grid_worker_phone, source, gateway, address, password_hash, created_at, updated_at)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
	ON CONFLICT (id) DO NOTHING`

const updateDevice = `UPDATE devices SET kind = ?, vendor = ?, model = ?, capabilities = ?,
	community = ?, grid = ?, building = ?, unit = ?, floor = ?, household = ?,
	resident_name = ?, resident_birth_year = ?, resident_lives_alone = ?, resident_care_notes = ?, resident_language = ?, resident_phone = ?,
	contacts = ?, grid_worker_name = ?, grid_worker_phone = ?, source = ?, gateway = ?, address = ?, updated_at = ?
	WHERE id = ?`

// installerArgs are the installer-supplied fields of d as query arguments,
// from kind through address.
func installerArgs(d *devices.Device) ([]any, error) {
	caps, err := jsonList(d.Capabilities)
	if err != nil {
		return nil, fmt.Errorf("encode capabilities: %w", err)
	}
	contacts, err := jsonList(d.Contacts)
	if err != nil {
		return nil, fmt.Errorf("encode contacts: %w", err)
	}
	l, r := d.Location, d.Resident
	return []any{string(d.Kind), d.Vendor, d.Model, caps,
		l.Community, l.Grid, l.Building, l.Unit, l.Floor, l.Household,
		r.Name, r.BirthYear, r.LivesAlone, r.CareNotes, r.Language, r.Phone,
		contacts, d.GridWorker.Name, d.GridWorker.Phone, string(d.Source), d.Gateway, d.Address}, nil
}

func jsonList[T any](v []T) (string, error) {
	if len(v) == 0 {
		return "[]", nil
	}
	b, err := json.Marshal(v)
	return string(b), err
}

func parseList[T any](s string, dst *[]T) error {
	if s == "" || s == "[]" || s == "null" {
		*dst = nil
		return nil
	}
	return json.Unmarshal([]byte(s), dst)
}

type scanner interface{ Scan(dest ...any) error }

func scanDevice(row scanner) (*devices.Device, error) {
	var (
		d                      devices.Device
		kind, caps, contacts   string
		source                 string
		lastSeen, created, upd sql.NullInt64
		battery, signal        sql.NullFloat64
		l, r, gw               = &d.Location, &d.Resident, &d.GridWorker
	)
	err := row.Scan(&d.ID, &kind, &d.Vendor, &d.Model, &caps,
		&l.Community, &l.Grid, &l.Building, &l.Unit, &l.Floor, &l.Household,
		&r.Name, &r.BirthYear, &r.LivesAlone, &r.CareNotes, &r.Language, &r.Phone,
		&contacts, &gw.Name, &gw.Phone, &source, &d.Gateway, &d.Address,
		&lastSeen, &d.Health.Online, &battery, &signal, &created, &upd)
	if err != nil {
		return nil, err
	}
	d.Kind, d.Source = devices.Kind(kind), devices.Source(source)
	if err := parseList(caps, &d.Capabilities); err != nil {
		return nil, fmt.Errorf("device %q: decode capabilities: %w", d.ID, err)
	}
	if err := parseList(contacts, &d.Contacts); err != nil {
		return nil, fmt.Errorf("device %q: decode contacts: %w", d.ID, err)
	}
	d.Health.LastSeen = fromMillis(lastSeen)
	if battery.Valid {
		d.Health.Battery = &battery.Float64
	}
	if signal.Valid {
		d.Health.Signal = &signal.Float64
	}
	d.CreatedAt, d.UpdatedAt = fromMillis(created), fromMillis(upd)
	return &d, nil
}

// CreateDevice registers d with the hash of its MQTT password and sets its
// CreatedAt and UpdatedAt. A device that was listed as unregistered leaves
// that list.
func (s *Store) CreateDevice(ctx context.Context, d *devices.Device, passwordHash string) error {
	if err := s.insertDevices(ctx, []*devices.Device{d}, []string{passwordHash}); err != nil {
		return fmt.Errorf("create device: %w", err)
	}
	return nil
}

// ImportDevices registers all of ds in one transaction, or none of them: on
// an invalid device or an ID that is already registered (or repeated in ds)
// nothing is stored and the error names the device.
func (s *Store) ImportDevices(ctx context.Context, ds []*devices.Device, hashes []string) error {
	if err := s.insertDevices(ctx, ds, hashes); err != nil {
		return fmt.Errorf("import devices: %w", err)
	}
	return nil
}

func (s *Store) insertDevices(ctx context.Context, ds []*devices.Device, hashes []string) error {
	if err := devices.ValidateImport(ds, hashes); err != nil {
		return err
	}
	rows := make([][]any, len(ds))
	now := s.nowMillis()
	for i, d := range ds {
		args, err := installerArgs(d)
		if err != nil {
			return err
		}
		rows[i] = append(append([]any{d.ID}, args...), hashes[i], now, now)
	}
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		ins, err := s.dialect.prepare(ctx, tx, insertDevice)
		if err != nil {
			return err
		}
		defer ins.Close()
		del, err := s.dialect.prepare(ctx, tx, `DELETE FROM unregistered WHERE id = ?`)
		if err != nil {
			return err
		}
		defer del.Close()
		for i, args := range rows {
			if err := s.checkAddress(ctx, tx, ds[i]); err != nil {
				return fmt.Errorf("device %q: %w", ds[i].ID, err)
			}
			res, err := ins.ExecContext(ctx, args...)
			if err != nil {
				return fmt.Errorf("device %q: %w", ds[i].ID, err)
			}
			if n, err := res.RowsAffected(); err != nil {
				return err
			} else if n == 0 {
				return shouwang.Errorf(shouwang.ECONFLICT, "device %q is already registered", ds[i].ID).With("device.exists", "id", ds[i].ID)
			}
			if _, err := del.ExecContext(ctx, ds[i].ID); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, d := range ds {
		d.CreatedAt = fromMillis(sql.NullInt64{Int64: now, Valid: true})
		d.UpdatedAt = d.CreatedAt
	}
	return nil
}

// FindDevice returns one device by ID.
func (s *Store) FindDevice(ctx context.Context, id string) (*devices.Device, error) {
	row := s.db.r.QueryRowContext(ctx, s.q(`SELECT `+deviceCols+` FROM devices WHERE id = ?`), id)
	d, err := scanDevice(row)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound(id)
	} else if err != nil {
		return nil, fmt.Errorf("find device: %w", err)
	}
	return d, nil
}

func notFound(id string) error {
	return shouwang.Errorf(shouwang.ENOTFOUND, "device %q is not registered", id).With("device.not_found", "id", id)
}

// ListDevices returns one page of the devices matching f, ordered by ID, and
// the number of all matching devices. Limit 0 means DefaultListLimit; larger
// limits are cut to MaxListLimit. Query matches a case-insensitive
// substring of the ID, the resident's name or the household.
func (s *Store) ListDevices(ctx context.Context, f devices.Filter) ([]*devices.Device, int, error) {
	limit, err := pageLimit(f.Offset, f.Limit)
	if err != nil {
		return nil, 0, err
	}
	where, args := deviceWhere(f)
	var (
		total int
		list  []*devices.Device
	)
	err = s.readTx(ctx, func(tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM devices`+where), args...).Scan(&total); err != nil {
			return err
		}
		if total <= f.Offset {
			return nil
		}
		rows, err := tx.QueryContext(ctx, s.q(`SELECT `+deviceCols+` FROM devices`+where+` ORDER BY id LIMIT ? OFFSET ?`),
			append(args, limit, f.Offset)...)
		if err != nil {
			return err
		}
		list, err = scanDevices(rows, limit)
		return err
	})
	if err != nil {
		return nil, 0, fmt.Errorf("list devices: %w", err)
	}
	return list, total, nil
}

// deviceWhere turns a filter into a WHERE clause (with a leading space, or
// empty) and its arguments.
func deviceWhere(f devices.Filter) (string, []any) {
	var w where
	w.eq("community", f.Community)
	w.eq("grid", f.Grid)
	w.eq("building", f.Building)
	w.eq("kind", string(f.Kind))
	if f.Online != nil {
		w.add("online = ?", *f.Online)
	}
	if f.Query != "" {
		// LOWER and LIKE … ESCAPE behave alike in SQLite and PostgreSQL;
		// SQLite's LOWER folds ASCII only, which is what IDs are made of.
		p := "%" + likeEscaper.Replace(strings.ToLower(f.Query)) + "%"
		w.add(`(LOWER(id) LIKE ? ESCAPE '\' OR LOWER(resident_name) LIKE ? ESCAPE '\' OR LOWER(household) LIKE ? ESCAPE '\')`, p, p, p)
	}
	return w.clause()
}

// where gathers the conditions of a listing's WHERE clause and their
// arguments.
type where struct {
	conds []string
	args  []any
}

func (w *where) add(cond string, args ...any) {
	w.conds = append(w.conds, cond)
	w.args = append(w.args, args...)
}

// eq adds col = v, unless v is empty (no filter).
func (w *where) eq(col, v string) {
	if v != "" {
		w.add(col+" = ?", v)
	}
}

// clause is " WHERE …" (empty without conditions) and its arguments.
func (w *where) clause() (string, []any) {
	if len(w.conds) == 0 {
		return "", nil
	}
	return " WHERE " + strings.Join(w.conds, " AND "), w.args
}

var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

func scanDevices(rows *sql.Rows, capacity int) ([]*devices.Device, error) {
	defer rows.Close()
	list := make([]*devices.Device, 0, capacity)
	for rows.Next() {
		d, err := scanDevice(rows)
		if err != nil {
			return nil, err
		}
		list = append(list, d)
	}
	return list, rows.Err()
}

// UpdateDevice replaces the installer-supplied fields of d (kind, vendor,
// model, capabilities, location, resident, contacts, grid worker) and sets
// its UpdatedAt. Health, password and CreatedAt are left as they are.
func (s *Store) UpdateDevice(ctx context.Context, d *devices.Device) error {
	if err := d.Validate(); err != nil {
		return err
	}
	args, err := installerArgs(d)
	if err != nil {
		return fmt.Errorf("update device: %w", err)
	}
	now := s.nowMillis()
	err = s.writeTx(ctx, func(tx *sql.Tx) error {
		if err := s.checkAddress(ctx, tx, d); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, s.q(updateDevice), append(args, now, d.ID)...)
		if err != nil {
			return fmt.Errorf("update device: %w", err)
		}
		return mustAffect(res, notFound(d.ID))
	})
	if err != nil {
		return err
	}
	d.UpdatedAt = fromMillis(sql.NullInt64{Int64: now, Valid: true})
	return nil
}

// DeleteDevice removes a device and its credentials. Its events stay.
func (s *Store) DeleteDevice(ctx context.Context, id string) error {
	res, err := s.exec(ctx, `DELETE FROM devices WHERE id = ?`, id)
	if err != nil {
		return fmt.Errorf("delete device: %w", err)
	}
	return mustAffect(res, notFound(id))
}

// SetPasswordHash replaces a device's MQTT password hash.
func (s *Store) SetPasswordHash(ctx context.Context, id, hash string) error {
	if hash == "" {
		return shouwang.Errorf(shouwang.EINVALID, "device %q: empty password hash", id)
	}
	res, err := s.exec(ctx, `UPDATE devices SET password_hash = ? WHERE id = ?`, hash, id)
	if err != nil {
		return fmt.Errorf("set password hash: %w", err)
	}
	return mustAffect(res, notFound(id))
}

// PasswordHash returns a device's MQTT password hash.
func (s *Store) PasswordHash(ctx context.Context, id string) (string, error) {
	var hash string
	err := s.db.r.QueryRowContext(ctx, s.q(`SELECT password_hash FROM devices WHERE id = ?`), id).Scan(&hash)
	if errors.Is(err, sql.ErrNoRows) {
		return "", notFound(id)
	} else if err != nil {
		return "", fmt.Errorf("password hash: %w", err)
	}
	return hash, nil
}

// mustAffect returns notFound when res touched no row.
func mustAffect(res sql.Result, notFound error) error {
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return notFound
	}
	return nil
}
