-- Notes: the sample feature. Each note belongs to one user; every query filters by owner_id.
CREATE TABLE notes (
    id         uuid        PRIMARY KEY,
    owner_id   uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    title      text        NOT NULL CHECK (char_length(title) BETWEEN 1 AND 200),
    body       text        NOT NULL DEFAULT '' CHECK (char_length(body) <= 100000),
    tags       text[]      NOT NULL DEFAULT '{}' CHECK (cardinality(tags) <= 10),
    version    integer     NOT NULL DEFAULT 1,
    created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    updated_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    -- Title words weigh more than body words in the ranking.
    search     tsvector    GENERATED ALWAYS AS (
                   setweight(to_tsvector('english', title), 'A') || setweight(to_tsvector('english', body), 'B')
               ) STORED
);

-- The list's keyset order, per owner: newest change first, id breaking ties.
CREATE INDEX notes_owner_updated_idx ON notes (owner_id, updated_at DESC, id DESC);
CREATE INDEX notes_search_idx ON notes USING gin (search);
CREATE INDEX notes_tags_idx ON notes USING gin (tags);
