-- A prefix's policy: whether every identifier under it must name a template version (its
-- value at index 1001). Off by default: identifiers without a template keep working.
ALTER TABLE prefixes ADD COLUMN template_required INTEGER NOT NULL DEFAULT 0;
