-- Search in the web calendar: the words of each calendar object (SUMMARY,
-- LOCATION, DESCRIPTION, CATEGORIES) with a full-text index ('simple': no
-- stemming, so any language matches as typed). Rows written before this
-- version get their text from the server at start-up (NULL until then).
ALTER TABLE items ADD COLUMN search_text TEXT;
CREATE INDEX items_search ON items USING gin (to_tsvector('simple', COALESCE(search_text, '')));
