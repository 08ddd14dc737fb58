//! The append-only, hash-chained audit trail.
//!
//! Each entry's `hash` is SHA-256 over its own fields and the previous entry's
//! hash (the genesis entry chains to [`GENESIS_HASH`]). `seq` starts at 1 and
//! has no gaps, and `audit_head` records the newest entry, so [`verify`] can
//! tell an entry that was changed, removed (anywhere, including the newest),
//! inserted or moved. Entries are written inside the transaction of the
//! operation they describe: both commit, or neither.

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::Value;
use sha2::{Digest, Sha256};
use sqlx::{QueryBuilder, Row, Sqlite, SqliteConnection};
use tracing::instrument;

use crate::StoreError;

/// `prev_hash` of the first entry.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Where and by whom an operation happened.
#[derive(Debug, Clone)]
pub struct AuditContext {
    pub office_code: String,
    pub counter_number: u16,
    /// The clerk's username, or `system` / `admin-cli` for non-clerk actors.
    pub actor: String,
    pub at: DateTime<Utc>,
}

/// One entry to append. `detail` must not hold personal data: refer to the
/// citizen by `citizen_id`.
#[derive(Debug, Clone)]
pub struct NewAuditEntry {
    pub action: registry::AuditAction,
    pub citizen_id: Option<String>,
    pub detail: Value,
}

/// A stored entry, as read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    pub seq: i64,
    pub at: DateTime<Utc>,
    pub office_code: String,
    pub counter_number: i64,
    pub actor: String,
    pub action: String,
    pub citizen_id: Option<String>,
    pub detail: String,
    pub prev_hash: String,
    pub hash: String,
}

/// What [`verify`] found wrong with one place in the chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditProblemKind {
    /// The entry's content no longer matches its hash.
    Changed,
    /// One or more entries before this one are gone (a gap in `seq`).
    Missing,
    /// The entry does not chain to its predecessor: added by hand, or copied.
    Inserted,
    /// The entry is out of place: its predecessor's hash is elsewhere in the chain.
    Reordered,
    /// The newest entries are gone: the head records more than the log holds.
    Truncated,
}

impl AuditProblemKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AuditProblemKind::Changed => "changed",
            AuditProblemKind::Missing => "missing",
            AuditProblemKind::Inserted => "inserted",
            AuditProblemKind::Reordered => "reordered",
            AuditProblemKind::Truncated => "truncated",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditProblem {
    pub seq: i64,
    pub kind: AuditProblemKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditReport {
    pub entries: i64,
    pub problems: Vec<AuditProblem>,
}

impl AuditReport {
    pub fn intact(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Timestamps are hashed in one fixed textual form, independent of how the
/// database returns them.
fn canonical_time(at: &DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// SHA-256 over length-prefixed fields, so no two different entries can
/// serialise to the same bytes.
fn entry_hash(e: &AuditEntry) -> String {
    let mut h = Sha256::new();
    let seq = e.seq.to_string();
    let at = canonical_time(&e.at);
    let counter = e.counter_number.to_string();
    let citizen = e.citizen_id.as_deref().unwrap_or("");
    for field in [
        "ventanilla-audit-v1",
        seq.as_str(),
        at.as_str(),
        e.office_code.as_str(),
        counter.as_str(),
        e.actor.as_str(),
        e.action.as_str(),
        citizen,
        e.detail.as_str(),
        e.prev_hash.as_str(),
    ] {
        h.update((field.len() as u64).to_be_bytes());
        h.update(field.as_bytes());
    }
    hex::encode(h.finalize())
}

/// Appends one entry inside the caller's transaction and moves the head.
#[instrument(skip_all, err, fields(action = entry.action.as_str()))]
pub(crate) async fn append(
    conn: &mut SqliteConnection,
    ctx: &AuditContext,
    entry: NewAuditEntry,
) -> Result<AuditEntry, StoreError> {
    let mut stored = append_many(conn, vec![(ctx.clone(), entry)]).await?;
    stored
        .pop()
        .ok_or(StoreError::Corrupt("audit entry not appended".into()))
}

/// The chain head: last sequence number and hash (genesis when empty).
async fn head(conn: &mut SqliteConnection) -> Result<(i64, String), StoreError> {
    let head = sqlx::query("SELECT last_seq, last_hash FROM audit_head WHERE id = 1")
        .fetch_optional(&mut *conn)
        .await?;
    Ok(match head {
        Some(row) => (row.try_get::<i64, _>(0)?, row.try_get::<String, _>(1)?),
        None => (0, GENESIS_HASH.to_owned()),
    })
}

/// Appends entries in order inside the caller's transaction and moves the head once:
/// one read of the head, the hashes chained in memory, multi-row inserts. (A busy
/// Cl@ve Móvil endpoint audits every finished request; three statements per entry
/// would cost more than the request itself.)
pub(crate) async fn append_many(
    conn: &mut SqliteConnection,
    entries: Vec<(AuditContext, NewAuditEntry)>,
) -> Result<Vec<AuditEntry>, StoreError> {
    if entries.is_empty() {
        return Ok(Vec::new());
    }
    let (first_seq, mut prev_hash) = head(conn).await?;
    let mut sealed = Vec::with_capacity(entries.len());
    for (seq, (ctx, entry)) in (first_seq + 1..).zip(entries) {
        // Stored with microsecond precision so that the hashed form round-trips.
        let at = DateTime::parse_from_rfc3339(&canonical_time(&ctx.at))
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or(ctx.at);
        let mut stored = AuditEntry {
            seq,
            at,
            office_code: ctx.office_code,
            counter_number: i64::from(ctx.counter_number),
            actor: ctx.actor,
            action: entry.action.as_str().to_owned(),
            citizen_id: entry.citizen_id,
            detail: entry.detail.to_string(),
            prev_hash,
            hash: String::new(),
        };
        stored.hash = entry_hash(&stored);
        prev_hash = stored.hash.clone();
        sealed.push(stored);
    }
    // 10 binds a row, well under SQLite's 32766 bind limit per statement.
    for chunk in sealed.chunks(500) {
        let mut q: QueryBuilder<Sqlite> = QueryBuilder::new(
            "INSERT INTO audit_log (seq, at, office_code, counter_number, actor, action, citizen_id, detail, prev_hash, hash) ",
        );
        q.push_values(chunk, |mut b, e| {
            b.push_bind(e.seq)
                .push_bind(e.at)
                .push_bind(&e.office_code)
                .push_bind(e.counter_number)
                .push_bind(&e.actor)
                .push_bind(&e.action)
                .push_bind(&e.citizen_id)
                .push_bind(&e.detail)
                .push_bind(&e.prev_hash)
                .push_bind(&e.hash);
        });
        q.build().execute(&mut *conn).await?;
    }
    let last = sealed.last().map(|e| (e.seq, e.hash.clone()));
    if let Some((seq, hash)) = last {
        let moved = sqlx::query("UPDATE audit_head SET last_seq = $1, last_hash = $2 WHERE id = 1")
            .bind(seq)
            .bind(&hash)
            .execute(&mut *conn)
            .await?;
        if moved.rows_affected() == 0 {
            sqlx::query("INSERT INTO audit_head (id, last_seq, last_hash) VALUES (1, $1, $2)")
                .bind(seq)
                .bind(&hash)
                .execute(&mut *conn)
                .await?;
        }
    }
    Ok(sealed)
}

fn entry_from_row(row: &sqlx::sqlite::SqliteRow) -> Result<AuditEntry, sqlx::Error> {
    Ok(AuditEntry {
        seq: row.try_get("seq")?,
        at: row.try_get("at")?,
        office_code: row.try_get("office_code")?,
        counter_number: row.try_get("counter_number")?,
        actor: row.try_get("actor")?,
        action: row.try_get("action")?,
        citizen_id: row.try_get("citizen_id")?,
        detail: row.try_get("detail")?,
        prev_hash: row.try_get("prev_hash")?,
        hash: row.try_get("hash")?,
    })
}

pub(crate) async fn entries(conn: &mut SqliteConnection) -> Result<Vec<AuditEntry>, StoreError> {
    let rows = sqlx::query(
        "SELECT seq, at, office_code, counter_number, actor, action, citizen_id, detail, prev_hash, hash \
         FROM audit_log ORDER BY seq",
    )
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .iter()
        .map(entry_from_row)
        .collect::<Result<Vec<_>, _>>()?)
}

/// Walks the whole chain. Reads only; reports every problem it finds.
#[instrument(skip_all, err)]
pub(crate) async fn verify(conn: &mut SqliteConnection) -> Result<AuditReport, StoreError> {
    let entries = entries(conn).await?;
    let head = sqlx::query("SELECT last_seq, last_hash FROM audit_head WHERE id = 1")
        .fetch_optional(&mut *conn)
        .await?
        .map(|row| -> Result<(i64, String), sqlx::Error> { Ok((row.try_get(0)?, row.try_get(1)?)) })
        .transpose()?;
    Ok(check_chain(&entries, head.as_ref()))
}

/// The pure part of [`verify`], over entries in `seq` order.
pub fn check_chain(entries: &[AuditEntry], head: Option<&(i64, String)>) -> AuditReport {
    let mut problems = Vec::new();
    let all_hashes: std::collections::HashSet<&str> =
        entries.iter().map(|e| e.hash.as_str()).collect();
    let mut expected_seq = 1;
    let mut prev_hash = GENESIS_HASH;

    for e in entries {
        let mut problem = None;
        if entry_hash(e) != e.hash {
            problem = Some(AuditProblemKind::Changed);
        } else if e.seq > expected_seq {
            problem = Some(AuditProblemKind::Missing);
        } else if e.prev_hash != prev_hash {
            problem = Some(
                if all_hashes.contains(e.prev_hash.as_str()) || e.seq < expected_seq {
                    AuditProblemKind::Reordered
                } else {
                    AuditProblemKind::Inserted
                },
            );
        }
        if let Some(kind) = problem {
            problems.push(AuditProblem { seq: e.seq, kind });
        }
        expected_seq = e.seq + 1;
        prev_hash = e.hash.as_str();
    }

    let last = entries.last();
    match (head, last) {
        (Some((head_seq, head_hash)), Some(last)) => {
            if *head_seq > last.seq {
                problems.push(AuditProblem {
                    seq: last.seq + 1,
                    kind: AuditProblemKind::Truncated,
                });
            } else if *head_seq < last.seq || *head_hash != last.hash {
                // Entries after the recorded head: appended outside Ventanilla.
                problems.push(AuditProblem {
                    seq: head_seq + 1,
                    kind: AuditProblemKind::Inserted,
                });
            }
        }
        (Some((head_seq, _)), None) => problems.push(AuditProblem {
            seq: 1.min(*head_seq),
            kind: AuditProblemKind::Truncated,
        }),
        (None, Some(first)) => problems.push(AuditProblem {
            seq: first.seq,
            kind: AuditProblemKind::Inserted,
        }),
        (None, None) => {}
    }

    AuditReport {
        entries: entries.len() as i64,
        problems,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn chain(n: i64) -> Vec<AuditEntry> {
        let mut out: Vec<AuditEntry> = Vec::new();
        for seq in 1..=n {
            let prev_hash = out
                .last()
                .map(|e| e.hash.clone())
                .unwrap_or_else(|| GENESIS_HASH.to_owned());
            let mut e = AuditEntry {
                seq,
                at: Utc
                    .with_ymd_and_hms(2026, 11, 23, 9, 0, seq as u32)
                    .unwrap(),
                office_code: "O00009999".into(),
                counter_number: 1,
                actor: "ana".into(),
                action: "alta_completed".into(),
                citizen_id: Some(format!("c{seq}")),
                detail: "{}".into(),
                prev_hash,
                hash: String::new(),
            };
            e.hash = entry_hash(&e);
            out.push(e);
        }
        out
    }

    fn head(entries: &[AuditEntry]) -> (i64, String) {
        let last = entries.last().unwrap();
        (last.seq, last.hash.clone())
    }

    #[test]
    fn an_intact_chain_verifies() {
        let c = chain(5);
        let report = check_chain(&c, Some(&head(&c)));
        assert!(report.intact(), "{report:?}");
        assert_eq!(report.entries, 5);
        assert!(check_chain(&[], None).intact());
    }

    #[test]
    fn a_changed_entry_is_found() {
        let mut c = chain(5);
        let h = head(&c);
        c[2].actor = "mallory".into();
        let report = check_chain(&c, Some(&h));
        assert_eq!(
            report.problems,
            vec![AuditProblem {
                seq: 3,
                kind: AuditProblemKind::Changed
            }]
        );
    }

    #[test]
    fn a_deleted_entry_is_found() {
        let mut c = chain(5);
        let h = head(&c);
        c.remove(1);
        let report = check_chain(&c, Some(&h));
        assert_eq!(
            report.problems,
            vec![AuditProblem {
                seq: 3,
                kind: AuditProblemKind::Missing
            }]
        );
    }

    #[test]
    fn removing_the_newest_entry_is_found_through_the_head() {
        let mut c = chain(5);
        let h = head(&c);
        c.pop();
        let report = check_chain(&c, Some(&h));
        assert_eq!(
            report.problems,
            vec![AuditProblem {
                seq: 5,
                kind: AuditProblemKind::Truncated
            }]
        );
    }

    #[test]
    fn an_inserted_entry_is_found_even_with_a_valid_own_hash() {
        let c = chain(4);
        let h = head(&c);
        // A forger renumbers entries 3.. and slips in a self-consistent entry 3.
        let mut forged = c[..2].to_vec();
        let mut fake = c[2].clone();
        fake.actor = "mallory".into();
        fake.prev_hash = "ab".repeat(32);
        fake.hash = entry_hash(&fake);
        forged.push(fake);
        for e in &c[2..] {
            let mut moved = e.clone();
            moved.seq += 1;
            forged.push(moved);
        }
        let report = check_chain(&forged, Some(&h));
        assert!(report.problems.contains(&AuditProblem {
            seq: 3,
            kind: AuditProblemKind::Inserted
        }));
        assert!(!report.intact());
    }

    #[test]
    fn reordered_entries_are_found() {
        let c = chain(5);
        let h = head(&c);
        let mut swapped = c.clone();
        // Swap the contents of 2 and 3 but keep seq order, as a hand edit of rows would.
        swapped.swap(1, 2);
        let report = check_chain(&swapped, Some(&h));
        assert!(!report.intact());
        assert!(
            report
                .problems
                .iter()
                .any(|p| p.kind == AuditProblemKind::Reordered),
            "{report:?}"
        );
    }

    #[test]
    fn an_entry_appended_behind_ventanillas_back_is_found() {
        let c = chain(4);
        let h = (3, c[2].hash.clone());
        let report = check_chain(&c, Some(&h));
        assert_eq!(
            report.problems,
            vec![AuditProblem {
                seq: 4,
                kind: AuditProblemKind::Inserted
            }]
        );
    }

    #[test]
    fn the_hash_covers_every_field() {
        let base = chain(1).remove(0);
        let variants: [fn(&mut AuditEntry); 9] = [
            |e| e.seq += 1,
            |e| e.at += chrono::Duration::microseconds(1),
            |e| e.office_code.push('0'),
            |e| e.counter_number += 1,
            |e| e.actor.push('x'),
            |e| e.action.push('x'),
            |e| e.citizen_id = None,
            |e| e.detail = "{\"a\":1}".into(),
            |e| e.prev_hash = "1".repeat(64),
        ];
        for change in variants {
            let mut e = base.clone();
            change(&mut e);
            assert_ne!(entry_hash(&e), base.hash);
        }
    }

    /// Entries appended a batch at a time chain exactly like entries appended one by
    /// one: the chain verifies, sequence numbers follow on, and the head moves once.
    #[tokio::test]
    async fn batched_appends_continue_the_chain() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::Store::open_in_dir(dir.path()).await.unwrap();
        let ctx = |s: u32| AuditContext {
            office_code: "O00009999".into(),
            counter_number: 2,
            actor: "clave-movil".into(),
            at: Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, s).unwrap(),
        };
        let entry = |n: u32| NewAuditEntry {
            action: registry::AuditAction::ClaveMovilRequestFinished,
            citizen_id: None,
            detail: serde_json::json!({ "request": n }),
        };
        let mut conn = store.pool.acquire().await.unwrap();
        let one = append(&mut conn, &ctx(0), entry(0)).await.unwrap();
        assert_eq!(one.seq, 1);
        let many = append_many(
            &mut conn,
            (1..=700).map(|n| (ctx(n % 60), entry(n))).collect(),
        )
        .await
        .unwrap();
        assert_eq!(many.len(), 700);
        assert_eq!(many[0].prev_hash, one.hash);
        assert_eq!((many[0].seq, many[699].seq), (2, 701));
        assert!(append_many(&mut conn, Vec::new()).await.unwrap().is_empty());
        let last = append(&mut conn, &ctx(1), entry(701)).await.unwrap();
        assert_eq!(
            (last.seq, last.prev_hash.as_str()),
            (702, many[699].hash.as_str())
        );
        drop(conn);
        let report = store.verify_audit().await.unwrap();
        assert!(report.intact(), "{:?}", report.problems);
        assert_eq!(report.entries, 702);
    }
}
