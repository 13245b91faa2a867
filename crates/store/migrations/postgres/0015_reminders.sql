-- Reminders by mail. items.alarm_at is the next moment one of the object's
-- alarms is due (NULL: none), so the scheduler reads only due rows. A
-- claim is taken, in the transaction that moves alarm_at on, before a
-- reminder is mailed, and is keyed by the object's UID and the trigger
-- time: however many instances run, a reminder is mailed once.
ALTER TABLE items ADD COLUMN alarm_at BIGINT;
CREATE INDEX items_alarm ON items (alarm_at) WHERE alarm_at IS NOT NULL;
CREATE TABLE reminder_claims (
    collection_id BIGINT NOT NULL REFERENCES collections(id) ON DELETE CASCADE,
    uid           TEXT   NOT NULL,
    trigger_at    BIGINT NOT NULL,
    -- The mail as composed when claimed, to send again if the instance
    -- that claimed it stopped before it was sent.
    recipient     TEXT   NOT NULL,
    subject       TEXT   NOT NULL,
    body          TEXT   NOT NULL,
    claimed_at    BIGINT NOT NULL,
    sent_at       BIGINT,
    PRIMARY KEY (collection_id, uid, trigger_at)
);
CREATE INDEX reminder_claims_unsent ON reminder_claims (claimed_at) WHERE sent_at IS NULL;
-- Each person's choice: reminder mail at all, and DISPLAY alarms by mail too.
CREATE TABLE reminder_settings (
    user_id BIGINT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    mail    BIGINT NOT NULL,
    display BIGINT NOT NULL
);
-- Objects written before this version get their next alarm (and their
-- search words again) from the server at start-up.
UPDATE items SET search_text = NULL WHERE component IS NOT NULL;
