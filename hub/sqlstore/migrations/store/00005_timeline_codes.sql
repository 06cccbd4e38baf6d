-- Timeline entries the hub writes become codes with parameters that the
-- console renders in its reader's language: the English notes earlier hubs
-- wrote on their own entries go, and what they said moves into data where
-- the page cannot work it out (an escalation's wait it computes from the
-- entry's time and the alert's opening). A webhook attempt no longer names
-- the URL, which may carry a key.

-- +goose Up
UPDATE alert_timeline SET note = ''
    WHERE actor_role = 'system' AND action IN ('escalated', 'reminder', 'notify_gave_up');
UPDATE alert_timeline SET note = '' WHERE action = 'test' AND note = 'commissioning test';
UPDATE alert_timeline SET action = 'notify_none', note = '', data = '{"level":"2"}'
    WHERE actor_role = 'system' AND action = 'note' AND note LIKE 'level 2: no webhook is configured%';
UPDATE alert_timeline SET data = '{"via":"call","call":"' || substr(note, 28) || '"}', note = ''
    WHERE action = 'accepted' AND note LIKE 'accepted by answering call %';
UPDATE alert_timeline SET data = json_remove(data, '$.url') WHERE action = 'notify_attempt';

-- +goose Down
SELECT 1;
