-- Stored documents (services/intake/documents.py, storage/, docs/documents.md).
--
-- A file's content is stored once, by its SHA-256 (document_blobs), wherever the
-- configured backend keeps it: in document_chunks below, or as an object in S3.
-- A dossier names the files it holds (dossier_documents): the same content attached
-- twice to one component is one row; attached to two components, two rows, one blob.

CREATE TABLE document_blobs (
    sha256     bytea PRIMARY KEY CHECK (octet_length(sha256) = 32),
    size       bigint NOT NULL CHECK (size > 0),
    media_type text NOT NULL,
    -- 'postgres' or 's3', and where that backend put the bytes (a chunk set's id,
    -- an object key). A blob lives in one backend; intake reads the configured one
    -- only, so blobs are moved before a switch (docs/documents.md).
    backend    text NOT NULL CHECK (backend IN ('postgres', 's3')),
    location   text NOT NULL,
    stored_at  timestamptz NOT NULL DEFAULT now()
);

-- The PostgreSQL backend: a file in rows of at most 256 KiB, read back in order.
-- Plain rows, not large objects: they live in this schema (a per-schema dump takes
-- them, a DELETE purges them, no lo_unlink to forget), and they are written in the
-- same transaction that records the blob, so a broken upload leaves nothing.
CREATE TABLE document_chunks (
    location uuid NOT NULL,
    seq      int  NOT NULL CHECK (seq >= 0),
    data     bytea NOT NULL,
    PRIMARY KEY (location, seq)
);

-- An upload to a backend outside the database (S3) in flight: recorded before the
-- first byte is sent, deleted in the transaction that records the blob. One left
-- behind (the process was killed mid-upload) names an object no blob records: the
-- retention sweep deletes the object, then the row, an hour later.
CREATE TABLE document_uploads (
    location   text PRIMARY KEY,
    started_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE dossier_documents (
    dossier_id   uuid NOT NULL REFERENCES dossiers (id),
    -- 'component': one of the procedure's required components (its 1-based
    -- position in the dossier's procedure snapshot); 'result': the decision.
    kind         text NOT NULL CHECK (kind IN ('component', 'result')),
    component    smallint NOT NULL CHECK (component >= 0),
    sha256       bytea NOT NULL REFERENCES document_blobs (sha256),
    size         bigint NOT NULL,
    media_type   text NOT NULL,
    file_name    text NOT NULL,
    -- Who attached it, and whether it is a paper component digitised at the counter
    -- (the national scorecard counts those).
    attached_by  text NOT NULL,
    digitised    boolean NOT NULL,
    attached_at  timestamptz NOT NULL,
    PRIMARY KEY (dossier_id, kind, component, sha256)
);
CREATE INDEX dossier_documents_sha256 ON dossier_documents (sha256);

-- A signed verification record of each result: no personal data, so it outlives
-- the purge of the file itself, and a copy of the result can still be checked.
CREATE TABLE result_records (
    id            uuid PRIMARY KEY,
    dossier_id    uuid NOT NULL REFERENCES dossiers (id),
    center_id     text NOT NULL,
    dossier_code  text NOT NULL,
    issued_on     date NOT NULL,
    result_sha256 bytea NOT NULL CHECK (octet_length(result_sha256) = 32),
    key_id        text NOT NULL,
    -- The exact bytes signed (canonical JSON) and the Ed25519 signature over them.
    record        bytea NOT NULL,
    signature     bytea NOT NULL CHECK (octet_length(signature) = 64),
    signed_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX result_records_sha256 ON result_records (result_sha256);
