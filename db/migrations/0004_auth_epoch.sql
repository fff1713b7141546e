-- The auth epoch (decision 0014): a per-account counter that every change meant to end the account's
-- sessions and tokens raises in the same statement (disable, password change or reset, address change,
-- sign-out by an admin, promotion, demotion, the admin's password replaced by migrate). Sessions,
-- refresh-token families and access tokens carry the epoch they were issued under and stop working
-- once Redis's copy of the counter has passed it. Existing accounts, sessions and tokens start at 0.
ALTER TABLE users ADD COLUMN auth_epoch bigint NOT NULL DEFAULT 0 CHECK (auth_epoch >= 0);

-- Raised epochs not yet copied to Redis. A row is queued by the trigger in the transaction that raises
-- the epoch, whoever raises it (the service, migrate, an operator by hand), and deleted once Redis holds
-- at least that epoch; the backend's worker copies what is left (woken by the notification).
CREATE TABLE auth_epoch_outbox (
    user_id   uuid        PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    epoch     bigint      NOT NULL,
    queued_at timestamptz NOT NULL DEFAULT now()
);

CREATE FUNCTION queue_auth_epoch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO auth_epoch_outbox (user_id, epoch) VALUES (NEW.id, NEW.auth_epoch)
    ON CONFLICT (user_id) DO UPDATE SET epoch = greatest(auth_epoch_outbox.epoch, excluded.epoch), queued_at = now();
    PERFORM pg_notify('quartet_auth_epoch', '');
    RETURN NEW;
END
$$;

CREATE TRIGGER users_auth_epoch_raised AFTER UPDATE OF auth_epoch ON users
    FOR EACH ROW WHEN (NEW.auth_epoch > OLD.auth_epoch) EXECUTE FUNCTION queue_auth_epoch();
