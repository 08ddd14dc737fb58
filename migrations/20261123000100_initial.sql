-- Ventanilla initial schema.
-- Portable SQL: it runs on SQLite today and is meant to run on PostgreSQL for
-- multi-counter offices. Ids are application-generated text (UUID v4) or
-- explicit integers; timestamps are UTC (`TIMESTAMP WITH TIME ZONE`, which
-- sqlx encodes as RFC 3339 text on SQLite and timestamptz on PostgreSQL).

CREATE TABLE clerks (
    id              VARCHAR(36)  PRIMARY KEY,
    username        VARCHAR(32)  NOT NULL UNIQUE,
    display_name    VARCHAR(120) NOT NULL,
    role            VARCHAR(16)  NOT NULL CHECK (role IN ('clerk', 'supervisor', 'admin')),
    password_hash   VARCHAR(200) NOT NULL,
    failed_attempts INTEGER      NOT NULL DEFAULT 0,
    locked_until    TIMESTAMP WITH TIME ZONE,
    is_demo         BOOLEAN      NOT NULL DEFAULT FALSE,
    disabled        BOOLEAN      NOT NULL DEFAULT FALSE,
    created_at      TIMESTAMP WITH TIME ZONE NOT NULL,
    last_login_at   TIMESTAMP WITH TIME ZONE
);

-- A citizen registered in Cl@ve. Renounced accounts stay here, blocked
-- (status = 'renounced'), as the law requires: never silently deleted.
CREATE TABLE citizens (
    id              VARCHAR(36)  PRIMARY KEY,
    document_kind   VARCHAR(3)   NOT NULL CHECK (document_kind IN ('dni', 'nie')),
    document_number VARCHAR(9)   NOT NULL UNIQUE,
    given_name      VARCHAR(60)  NOT NULL,
    first_surname   VARCHAR(60)  NOT NULL,
    second_surname  VARCHAR(60),
    contrast_kind   VARCHAR(20)  NOT NULL CHECK (contrast_kind IN ('dni_expiry', 'permanent_dni_issue', 'nie_support')),
    contrast_value  VARCHAR(20)  NOT NULL,
    support_number  VARCHAR(9),
    phone_e164      VARCHAR(16)  NOT NULL,
    email           VARCHAR(254) NOT NULL,
    level           VARCHAR(10)  NOT NULL CHECK (level IN ('basico', 'avanzado')),
    status          VARCHAR(10)  NOT NULL CHECK (status IN ('active', 'renounced')),
    created_at      TIMESTAMP WITH TIME ZONE NOT NULL,
    updated_at      TIMESTAMP WITH TIME ZONE NOT NULL
);

-- One row per counter operation that registered or changed a citizen.
CREATE TABLE registrations (
    id              VARCHAR(36)  PRIMARY KEY,
    citizen_id      VARCHAR(36)  NOT NULL REFERENCES citizens (id),
    operation       VARCHAR(20)  NOT NULL CHECK (operation IN ('alta')),
    level           VARCHAR(10)  NOT NULL CHECK (level IN ('basico', 'avanzado')),
    identity_method VARCHAR(20)  NOT NULL CHECK (identity_method IN ('manual_document', 'dnie', 'dnie_pin')),
    office_code     VARCHAR(9)   NOT NULL,
    counter_number  INTEGER      NOT NULL,
    clerk_id        VARCHAR(36)  NOT NULL REFERENCES clerks (id),
    created_at      TIMESTAMP WITH TIME ZONE NOT NULL
);

CREATE INDEX registrations_citizen ON registrations (citizen_id);

-- Append-only, hash-chained audit trail. Each entry's hash covers its own
-- fields and the previous entry's hash; `seq` has no gaps. No personal data in
-- `detail`: the subject is referenced by citizen id.
CREATE TABLE audit_log (
    seq             BIGINT       PRIMARY KEY,
    at              TIMESTAMP WITH TIME ZONE NOT NULL,
    office_code     VARCHAR(9)   NOT NULL,
    counter_number  INTEGER      NOT NULL,
    actor           VARCHAR(64)  NOT NULL,
    action          VARCHAR(40)  NOT NULL,
    citizen_id      VARCHAR(36),
    detail          TEXT         NOT NULL,
    prev_hash       VARCHAR(64)  NOT NULL,
    hash            VARCHAR(64)  NOT NULL UNIQUE
);

-- The chain's head, updated in the same transaction as every append, so that
-- removing the newest entries is detected too.
CREATE TABLE audit_head (
    id              INTEGER      PRIMARY KEY CHECK (id = 1),
    last_seq        BIGINT       NOT NULL,
    last_hash       VARCHAR(64)  NOT NULL
);
