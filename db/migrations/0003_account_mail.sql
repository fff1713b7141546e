-- Email verification, password reset and the outgoing mail queue.

-- Null until the owner of the address follows the verification link. Accounts made before
-- verification existed are taken as verified: nobody was asked to, and their API clients keep working.
ALTER TABLE users ADD COLUMN email_verified_at timestamptz;
UPDATE users SET email_verified_at = created_at;

-- Single-use tokens sent by mail. Only the SHA-256 of a token is stored, so a database dump holds
-- nothing a link can be made from. A token names the address it was sent to: it verifies or resets
-- that address only.
CREATE TABLE account_tokens (
    token_hash bytea       PRIMARY KEY CHECK (length(token_hash) = 32),
    user_id    uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose    text        NOT NULL CHECK (purpose IN ('verify-email', 'reset-password')),
    email      text        NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    used_at    timestamptz
);
CREATE INDEX account_tokens_user_idx ON account_tokens (user_id, purpose, created_at DESC);

-- Mails to send, sent off the request path by the backend's outbox worker. A row names what to send
-- (template, recipient, account); the body and any token are made when it is sent, so no link is
-- ever stored. A row whose attempts ran out is 'dead' and shown to the admin.
CREATE TABLE mail_outbox (
    id              bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    template        text        NOT NULL,
    recipient       text        NOT NULL CHECK (length(recipient) BETWEEN 3 AND 254),
    user_id         uuid        REFERENCES users (id) ON DELETE CASCADE,
    status          text        NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'skipped', 'dead')),
    attempts        integer     NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_error      text,
    request_id      text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    finished_at     timestamptz
);
CREATE INDEX mail_outbox_due_idx ON mail_outbox (next_attempt_at) WHERE status = 'pending';
CREATE INDEX mail_outbox_finished_idx ON mail_outbox (status, finished_at) WHERE status <> 'pending';
