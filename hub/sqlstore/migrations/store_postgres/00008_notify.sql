-- Notifications by party and channel (issue 16): each queued notification
-- names the party told, the configured channel it goes out on, the
-- recipient's number when the channel sends to one, and the recipient's
-- language. A notification an earlier hub queued was for its only channel,
-- the level-2 webhook: it is the street's duty leader's, on channel
-- "webhook", as -webhook-url configures it now.

-- +goose Up
ALTER TABLE alert_notifications ADD COLUMN party TEXT NOT NULL DEFAULT '';
ALTER TABLE alert_notifications ADD COLUMN channel TEXT NOT NULL DEFAULT '';
ALTER TABLE alert_notifications ADD COLUMN recipient TEXT NOT NULL DEFAULT '';
ALTER TABLE alert_notifications ADD COLUMN lang TEXT NOT NULL DEFAULT '';
UPDATE alert_notifications SET party = 'street_leader', channel = 'webhook' WHERE channel = '';

-- +goose Down
ALTER TABLE alert_notifications DROP COLUMN lang;
ALTER TABLE alert_notifications DROP COLUMN recipient;
ALTER TABLE alert_notifications DROP COLUMN channel;
ALTER TABLE alert_notifications DROP COLUMN party;
