-- Idempotency-Key records in PostgreSQL, and per-user note quotas (decision 0016).

-- One row per (user, key): the request's fingerprint and the response to replay. The row is inserted
-- in the same transaction as the write it guards and completed before that transaction commits, so
-- another transaction only ever sees a finished row, or none. A concurrent request with the same key
-- waits on the primary key until the first commits (then replays) or rolls back (then does the work).
-- Rows older than the retention are deleted by the backend's sweep.
CREATE TABLE idempotency_keys (
    user_id      uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    key          text        NOT NULL CHECK (char_length(key) BETWEEN 1 AND 255),
    -- SHA-256 of the operation and its normalised request.
    request_hash bytea       NOT NULL CHECK (length(request_hash) = 32),
    -- Null only inside the transaction that claimed the key.
    status       smallint    CHECK (status BETWEEN 200 AND 299),
    location     text,
    etag         text,
    response     jsonb,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, key),
    CHECK ((status IS NULL) = (response IS NULL))
);
CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at);

-- The size a note counts toward its owner's quota: UTF-8 bytes of title, body and tags.
ALTER TABLE notes ADD COLUMN bytes integer NOT NULL DEFAULT 0 CHECK (bytes >= 0);
UPDATE notes SET bytes = octet_length(title) + octet_length(body) + coalesce(octet_length(array_to_string(tags, '')), 0);

-- Each user's note count and bytes, kept by the same transactions that write notes. Every write of a
-- user's notes locks this row first, so two writes at the edge of a quota cannot both pass.
CREATE TABLE note_usage (
    owner_id uuid    PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    notes    integer NOT NULL CHECK (notes >= 0),
    bytes    bigint  NOT NULL CHECK (bytes >= 0)
);
INSERT INTO note_usage (owner_id, notes, bytes)
SELECT owner_id, count(*), sum(bytes) FROM notes GROUP BY owner_id;
