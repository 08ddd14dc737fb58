-- The local Cl@ve Móvil endpoint (crate `clave-movil`): devices, authentication
-- requests, device activations, SMS accounting, the SMS outbox and the alerts
-- the office sees. Portable SQL, as in 20261123000100_initial.sql. No code, PIN
-- or token is stored in clear: only keyed hashes (HMAC-SHA256 under the
-- endpoint's own key, kept in its data directory).

-- A Cl@ve app installation bound to a citizen by its P-256 public key.
-- At most one active device per citizen (partial unique index below).
CREATE TABLE clave_movil_devices (
    id              VARCHAR(36)  PRIMARY KEY,
    citizen_id      VARCHAR(36)  NOT NULL REFERENCES citizens (id),
    public_key      VARCHAR(100) NOT NULL,
    status          VARCHAR(12)  NOT NULL CHECK (status IN ('active', 'signed_out', 'replaced', 'blocked', 'deactivated')),
    method          VARCHAR(8)   NOT NULL CHECK (method IN ('sms', 'qr')),
    activated_at    TIMESTAMP WITH TIME ZONE NOT NULL,
    ended_at        TIMESTAMP WITH TIME ZONE
);

CREATE UNIQUE INDEX clave_movil_devices_one_active ON clave_movil_devices (citizen_id) WHERE status = 'active';

-- An authentication request from a relying service (or the counter).
-- `citizen_id` is NULL for a counter QR not yet scanned and for a no-QR
-- request whose document/contrast pair matched no account (it then behaves
-- like any other request and simply expires).
CREATE TABLE clave_movil_requests (
    id               VARCHAR(36)  PRIMARY KEY,
    service_id       VARCHAR(64)  NOT NULL,
    body             VARCHAR(200) NOT NULL,
    kind             VARCHAR(6)   NOT NULL CHECK (kind IN ('qr', 'no_qr')),
    status           VARCHAR(10)  NOT NULL CHECK (status IN ('pending', 'confirmed', 'rejected', 'expired', 'cancelled')),
    code             VARCHAR(3)   NOT NULL,
    decoys           VARCHAR(7)   NOT NULL,
    counter_number   INTEGER      NOT NULL,
    citizen_id       VARCHAR(36)  REFERENCES citizens (id),
    device_id        VARCHAR(36)  REFERENCES clave_movil_devices (id),
    created_at       TIMESTAMP WITH TIME ZONE NOT NULL,
    expires_at       TIMESTAMP WITH TIME ZONE NOT NULL,
    completed_at     TIMESTAMP WITH TIME ZONE,
    completed_by     VARCHAR(6)   CHECK (completed_by IN ('device', 'sms')),
    reason           VARCHAR(32),
    qr_token_hash    VARCHAR(64),
    qr_secret        VARCHAR(64),
    qr_claimed       BOOLEAN      NOT NULL DEFAULT FALSE,
    sms_requested_at TIMESTAMP WITH TIME ZONE,
    sms_sends        INTEGER      NOT NULL DEFAULT 0,
    sms_tries        INTEGER      NOT NULL DEFAULT 0,
    sms_pin_hash     VARCHAR(64)
);

CREATE INDEX clave_movil_requests_citizen ON clave_movil_requests (citizen_id, created_at);
CREATE INDEX clave_movil_requests_status ON clave_movil_requests (status);

-- A device activation in progress: by SMS code (after DNI/NIE + contrast
-- data) or by the single-use activation QR the counter shows.
CREATE TABLE clave_movil_activations (
    id              VARCHAR(36)  PRIMARY KEY,
    method          VARCHAR(8)   NOT NULL CHECK (method IN ('sms', 'qr')),
    citizen_id      VARCHAR(36)  REFERENCES citizens (id),
    secret_hash     VARCHAR(64)  NOT NULL,
    tries           INTEGER      NOT NULL DEFAULT 0,
    status          VARCHAR(10)  NOT NULL CHECK (status IN ('pending', 'used', 'failed', 'expired')),
    device_id       VARCHAR(36)  REFERENCES clave_movil_devices (id),
    created_at      TIMESTAMP WITH TIME ZONE NOT NULL,
    expires_at      TIMESTAMP WITH TIME ZONE NOT NULL
);

-- Every SMS the endpoint sent or pretended to send (for an unknown citizen,
-- so that the hourly cap behaves the same): `subject` is a keyed hash of the
-- document number, never the number.
CREATE TABLE clave_movil_sms_log (
    id              VARCHAR(36)  PRIMARY KEY,
    subject         VARCHAR(64)  NOT NULL,
    purpose         VARCHAR(12)  NOT NULL CHECK (purpose IN ('activation', 'request')),
    delivered       BOOLEAN      NOT NULL,
    sent_at         TIMESTAMP WITH TIME ZONE NOT NULL
);

CREATE INDEX clave_movil_sms_log_subject ON clave_movil_sms_log (subject, sent_at);

-- The `outbox` SMS gateway: the messages themselves, for tests and training
-- mode (it stands in for the SMS network, so it holds codes by design).
CREATE TABLE clave_movil_sms_outbox (
    id              VARCHAR(36)  PRIMARY KEY,
    created_at      TIMESTAMP WITH TIME ZONE NOT NULL,
    phone_e164      VARCHAR(16)  NOT NULL,
    purpose         VARCHAR(12)  NOT NULL,
    text            VARCHAR(320) NOT NULL
);

-- What the office must look at: "this wasn't me" reports.
CREATE TABLE clave_movil_alerts (
    id              VARCHAR(36)  PRIMARY KEY,
    kind            VARCHAR(12)  NOT NULL CHECK (kind IN ('not_me')),
    citizen_id      VARCHAR(36)  NOT NULL REFERENCES citizens (id),
    device_id       VARCHAR(36)  NOT NULL REFERENCES clave_movil_devices (id),
    request_id      VARCHAR(36)  NOT NULL REFERENCES clave_movil_requests (id),
    created_at      TIMESTAMP WITH TIME ZONE NOT NULL,
    acknowledged_at TIMESTAMP WITH TIME ZONE
);
