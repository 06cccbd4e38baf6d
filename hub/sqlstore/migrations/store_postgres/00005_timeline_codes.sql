-- Timeline codes on PostgreSQL: the twin of
-- migrations/store/00005_timeline_codes.sql.

-- +goose Up
UPDATE alert_timeline SET note = ''
    WHERE actor_role = 'system' AND action IN ('escalated', 'reminder', 'notify_gave_up');
UPDATE alert_timeline SET note = '' WHERE action = 'test' AND note = 'commissioning test';
UPDATE alert_timeline SET action = 'notify_none', note = '', data = '{"level":"2"}'
    WHERE actor_role = 'system' AND action = 'note' AND note LIKE 'level 2: no webhook is configured%';
UPDATE alert_timeline SET data = '{"via":"call","call":"' || substr(note, 28) || '"}', note = ''
    WHERE action = 'accepted' AND note LIKE 'accepted by answering call %';
UPDATE alert_timeline SET data = (data::jsonb - 'url')::text WHERE action = 'notify_attempt';

-- +goose Down
SELECT 1;
