-- When an account last logged in on the web and last synced: staff see
-- them on the account's page. Sync is noted at most every few minutes.
ALTER TABLE users ADD COLUMN last_web_sign_in BIGINT;
ALTER TABLE users ADD COLUMN last_sync_sign_in BIGINT;
