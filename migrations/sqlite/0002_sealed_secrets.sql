-- Secrets sealed under the node's key (AES-256-GCM), for Handle protocol HS_SECKEY
-- challenges, which need the secret itself. NULL for secrets written before sealing.
ALTER TABLE secrets ADD COLUMN sealed BLOB;
