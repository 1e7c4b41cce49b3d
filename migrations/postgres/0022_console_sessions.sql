-- Web console sessions are bearer tokens bound to the address that signed in: `client`
-- holds that address ('' for the API's bearer tokens, which any address may present).
ALTER TABLE tokens ADD COLUMN client TEXT NOT NULL DEFAULT '';
