-- The audit trail is append-only: the database itself refuses to change or
-- delete an entry. (SQLite trigger syntax; the PostgreSQL migration set will
-- use a trigger function with the same effect. Someone editing the file by
-- hand can drop these triggers, which is why `verify` checks the hash chain.)
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;

CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
