//! The store on a real SQLite file: migrations on open, one transaction per
//! operation, and an audit chain that catches hand edits of the file.

use std::path::Path;

use chrono::{TimeZone, Utc};
use registry::alta::{AltaData, AltaForm};
use registry::{Level, PasswordHash, Role, Secret, SeededRandom, Username};
use sqlx::Connection;
use sqlx::sqlite::SqliteConnection;
use store::{AuditContext, AuditProblemKind, IdentityMethod, NewClerk, Store, StoreError};

fn ctx(second: u32) -> AuditContext {
    AuditContext {
        office_code: "O00012345".into(),
        counter_number: 2,
        actor: "ana".into(),
        at: Utc.with_ymd_and_hms(2026, 11, 23, 9, 30, second).unwrap(),
    }
}

fn alta_data(document: &str) -> AltaData {
    let nie = document.starts_with(['X', 'Y', 'Z']);
    let form = AltaForm {
        document: document.into(),
        expiry_date: if nie { "" } else { "2031-06-30" }.into(),
        support_number: if nie { "E12345678" } else { "" }.into(),
        given_name: "Ficticia".into(),
        first_surname: "Especimen".into(),
        phone: "612345678".into(),
        email: "prueba@example.org".into(),
        ..AltaForm::default()
    };
    form.validate(chrono::NaiveDate::from_ymd_opt(2026, 11, 23).unwrap())
        .unwrap()
}

/// A store with a clerk and three registrations: audit entries 1..=4.
async fn populated(dir: &Path) -> (Store, String) {
    let random = SeededRandom::new(7);
    let store = Store::open_in_dir(dir).await.unwrap();
    let clerk = store
        .create_clerk(
            NewClerk {
                username: Username::parse("ana").unwrap(),
                display_name: "Ana".into(),
                role: Role::Clerk,
                password_hash: PasswordHash::hash(&Secret::new("una-clave-larga"), &random)
                    .unwrap(),
                is_demo: false,
            },
            &ctx(0),
            &random,
        )
        .await
        .unwrap();
    for (i, doc) in ["12345678Z", "X1234567L", "00000000T"].iter().enumerate() {
        store
            .register_alta(
                &alta_data(doc),
                IdentityMethod::ManualDocument,
                &clerk.id,
                &ctx(i as u32 + 1),
                &random,
            )
            .await
            .unwrap();
    }
    (store, clerk.id)
}

/// A raw connection to the file, as someone editing it by hand would have,
/// with the append-only triggers dropped.
async fn tamperer(dir: &Path) -> SqliteConnection {
    let url = format!("sqlite://{}", dir.join(store::DB_FILE).display());
    let mut conn = SqliteConnection::connect(&url).await.unwrap();
    sqlx::query("DROP TRIGGER audit_log_no_update")
        .execute(&mut conn)
        .await
        .unwrap();
    sqlx::query("DROP TRIGGER audit_log_no_delete")
        .execute(&mut conn)
        .await
        .unwrap();
    conn
}

async fn problems_after(sql: &[&str]) -> Vec<(i64, AuditProblemKind)> {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = populated(dir.path()).await;
    assert!(store.verify_audit().await.unwrap().intact());
    let mut conn = tamperer(dir.path()).await;
    for statement in sql {
        sqlx::query(statement).execute(&mut conn).await.unwrap();
    }
    conn.close().await.unwrap();
    let report = store.verify_audit().await.unwrap();
    store.close().await;
    report.problems.iter().map(|p| (p.seq, p.kind)).collect()
}

#[tokio::test]
async fn the_file_is_created_migrated_and_reopened() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = populated(dir.path()).await;
    store.close().await;
    assert!(dir.path().join(store::DB_FILE).exists());
    // Reopening runs the (already applied) migrations again without harm.
    let store = Store::open_in_dir(dir.path()).await.unwrap();
    let report = store.verify_audit().await.unwrap();
    assert_eq!(report.entries, 4);
    assert!(report.intact());
    let found = store
        .citizen_by_document(&registry::DocumentNumber::parse("x-1234567-l").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.level, Level::Avanzado);
}

#[tokio::test]
async fn the_database_refuses_to_edit_the_audit_trail() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = populated(dir.path()).await;
    for sql in [
        "UPDATE audit_log SET actor = 'mallory' WHERE seq = 2",
        "DELETE FROM audit_log WHERE seq = 2",
    ] {
        let err = sqlx::query(sql).execute(store.pool()).await.unwrap_err();
        assert!(err.to_string().contains("append-only"), "{err}");
    }
    assert!(store.verify_audit().await.unwrap().intact());
}

#[tokio::test]
async fn a_changed_entry_is_detected() {
    let problems = problems_after(&["UPDATE audit_log SET actor = 'mallory' WHERE seq = 2"]).await;
    assert_eq!(problems, vec![(2, AuditProblemKind::Changed)]);
}

#[tokio::test]
async fn a_deleted_entry_is_detected() {
    let problems = problems_after(&["DELETE FROM audit_log WHERE seq = 2"]).await;
    assert_eq!(problems, vec![(3, AuditProblemKind::Missing)]);
}

#[tokio::test]
async fn deleting_the_newest_entry_is_detected() {
    let problems = problems_after(&["DELETE FROM audit_log WHERE seq = 4"]).await;
    assert_eq!(problems, vec![(4, AuditProblemKind::Truncated)]);
}

#[tokio::test]
async fn an_inserted_entry_is_detected() {
    // A forger shifts entries 3.. up and writes a new entry 3 (with a
    // self-consistent hash would still break the link, see the unit tests).
    let problems = problems_after(&[
        "UPDATE audit_log SET seq = seq + 100 WHERE seq >= 3",
        "UPDATE audit_log SET seq = seq - 99 WHERE seq >= 100",
        "INSERT INTO audit_log (seq, at, office_code, counter_number, actor, action, citizen_id, detail, prev_hash, hash) \
         SELECT 3, at, office_code, counter_number, 'mallory', action, NULL, detail, hash, 'f00d' FROM audit_log WHERE seq = 2",
    ])
    .await;
    assert!(
        problems
            .iter()
            .any(|(seq, kind)| *seq == 3 && *kind != AuditProblemKind::Truncated),
        "{problems:?}"
    );
}

#[tokio::test]
async fn reordered_entries_are_detected() {
    // Swap the numbers of entries 2 and 3.
    let problems = problems_after(&[
        "UPDATE audit_log SET seq = 100 WHERE seq = 2",
        "UPDATE audit_log SET seq = 2 WHERE seq = 3",
        "UPDATE audit_log SET seq = 3 WHERE seq = 100",
    ])
    .await;
    // Both moved entries fail their hash, and the entry after them no longer
    // chains to its predecessor, which now sits elsewhere in the chain.
    assert_eq!(
        problems,
        vec![
            (2, AuditProblemKind::Changed),
            (3, AuditProblemKind::Changed),
            (4, AuditProblemKind::Reordered)
        ]
    );
}

#[tokio::test]
async fn a_second_alta_is_refused_with_the_level_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (store, clerk_id) = populated(dir.path()).await;
    let before = store.audit_entries().await.unwrap();
    let err = store
        .register_alta(
            &alta_data("12345678Z"),
            IdentityMethod::ManualDocument,
            &clerk_id,
            &ctx(30),
            &SeededRandom::new(8),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::AlreadyRegistered(Level::Avanzado)),
        "{err:?}"
    );
    assert_eq!(err.code(), "ALT-003");
    assert_eq!(store.audit_entries().await.unwrap(), before);
}

#[tokio::test]
async fn when_the_audit_entry_fails_the_citizen_is_not_stored() {
    let dir = tempfile::tempdir().unwrap();
    let (store, clerk_id) = populated(dir.path()).await;
    // Make the audit append fail inside the operation's transaction.
    sqlx::query(
        "CREATE TRIGGER audit_refuses BEFORE INSERT ON audit_log BEGIN SELECT RAISE(ABORT, 'disk full'); END",
    )
    .execute(store.pool())
    .await
    .unwrap();
    let doc = "Y1234567X";
    let err = store
        .register_alta(
            &alta_data(doc),
            IdentityMethod::ManualDocument,
            &clerk_id,
            &ctx(40),
            &SeededRandom::new(9),
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), "STORE-001");
    let parsed = registry::DocumentNumber::parse(doc).unwrap();
    assert!(store.citizen_by_document(&parsed).await.unwrap().is_none());
    let registrations: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM registrations")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(registrations, 3);
}
