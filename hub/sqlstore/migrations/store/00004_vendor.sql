-- Off-the-shelf devices: where a device's messages come from (source,
-- gateway, address), the last known state of each vendor device, the
-- devices bridges report that nobody has registered yet, and the last
-- refusals of each device for installers. Portable SQL, as 00001.

-- +goose Up
ALTER TABLE devices ADD COLUMN source TEXT NOT NULL DEFAULT '';
ALTER TABLE devices ADD COLUMN gateway TEXT NOT NULL DEFAULT '';
ALTER TABLE devices ADD COLUMN address TEXT NOT NULL DEFAULT '';
CREATE INDEX devices_address ON devices (source, gateway, address);

-- vendor_state is one device's VendorState (JSON), written in the same
-- transaction that stores the events it led to, before the message is
-- acknowledged.
CREATE TABLE vendor_state (
    device_id  TEXT PRIMARY KEY,
    state      TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- discovered lists what each bridge's retained bridge/devices reports.
CREATE TABLE discovered (
    gateway       TEXT NOT NULL,
    ieee          TEXT NOT NULL,
    friendly_name TEXT NOT NULL,
    model         TEXT NOT NULL DEFAULT '',
    vendor        TEXT NOT NULL DEFAULT '',
    description   TEXT NOT NULL DEFAULT '',
    supported     BOOLEAN NOT NULL DEFAULT FALSE,
    seen_at       BIGINT NOT NULL,
    PRIMARY KEY (gateway, ieee)
);

-- refusals keeps each device's last refusals (the store trims to a few per
-- device): why, when, and a clipped copy of the topic or payload.
CREATE TABLE refusals (
    id        INTEGER PRIMARY KEY,
    device_id TEXT NOT NULL,
    at        BIGINT NOT NULL,
    reason    TEXT NOT NULL,
    detail    TEXT NOT NULL DEFAULT ''
);
CREATE INDEX refusals_device ON refusals (device_id, id);

-- +goose Down
DROP TABLE refusals;
DROP TABLE discovered;
DROP TABLE vendor_state;
DROP INDEX devices_address;
ALTER TABLE devices DROP COLUMN address;
ALTER TABLE devices DROP COLUMN gateway;
ALTER TABLE devices DROP COLUMN source;
