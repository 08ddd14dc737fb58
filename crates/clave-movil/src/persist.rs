//! Persistence: a single writer task that commits in batches (group commit) and the
//! reads the endpoint needs.
//!
//! Every state change is decided in memory under the engine's lock, then handed to the
//! writer as a [`Job`]. The writer takes every job waiting in its queue, writes them in
//! **one** transaction (rows coalesced: a request created and confirmed within the same
//! batch is written once, with multi-row upserts), commits — with
//! `synchronous = FULL` when durable — and only then runs each job's `after` actions
//! (wake long-polls, push events) and answers the callers. So nobody ever sees a state
//! the disk does not have, and one fsync serves every caller in the batch.

use std::collections::HashMap;

use chrono::{DateTime, Duration as TimeDelta, NaiveDate, Utc};
use serde_json::Value;
use sqlx::{QueryBuilder, Row, Sqlite, SqlitePool};
use store::{AuditContext, ClaveMovilWriter, NewAuditEntry};
use tokio::sync::{mpsc, oneshot};

use crate::api::{Alert, HistoryItem, HistoryOrder, HistoryPage, HistoryQuery};
use crate::domain::{
    AuthRequest, CompletedBy, QrState, Reason, RequestKind, RequestStatus, RequestType, SmsState,
    VerificationCode,
};
use crate::error::ClaveError;

/// A device row.
#[derive(Debug, Clone)]
pub(crate) struct DeviceRow {
    pub id: String,
    pub citizen_id: String,
    pub public_key: String,
    pub status: &'static str,
    pub method: &'static str,
    pub activated_at: DateTime<Utc>,
    pub ended_at: Option<DateTime<Utc>>,
}

/// An activation row.
#[derive(Debug, Clone)]
pub(crate) struct ActivationRow {
    pub id: String,
    pub method: &'static str,
    pub citizen_id: Option<String>,
    pub secret_hash: [u8; 32],
    pub tries: u32,
    pub status: &'static str,
    pub device_id: Option<String>,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub(crate) struct AlertRow {
    pub id: String,
    pub citizen_id: String,
    pub device_id: String,
    pub request_id: String,
    pub created_at: DateTime<Utc>,
}

/// One row to write.
#[derive(Debug)]
pub(crate) enum Write {
    Request(Box<AuthRequest>),
    Device(DeviceRow),
    Activation(ActivationRow),
    SmsLog {
        id: String,
        subject: [u8; 16],
        purpose: &'static str,
        delivered: bool,
        at: DateTime<Utc>,
    },
    Alert(AlertRow),
    Audit {
        entry: NewAuditEntry,
        at: DateTime<Utc>,
    },
}

pub(crate) type After = Box<dyn FnOnce() + Send>;

/// Writes, what to do once they are on disk, and who waits for them.
pub(crate) struct Job {
    pub writes: Vec<Write>,
    pub after: Vec<After>,
    pub done: Option<oneshot::Sender<Result<(), ClaveError>>>,
}

/// Where audit entries are attributed.
#[derive(Debug, Clone)]
pub(crate) struct AuditOrigin {
    pub office_code: String,
    pub counter_number: u16,
}

/// The writer task: runs until every sender is gone, then closes its connection.
pub(crate) async fn run_writer(
    mut writer: ClaveMovilWriter,
    mut rx: mpsc::UnboundedReceiver<Job>,
    origin: AuditOrigin,
) {
    while let Some(first) = rx.recv().await {
        let mut jobs = vec![first];
        while jobs.len() < 4096 {
            match rx.try_recv() {
                Ok(job) => jobs.push(job),
                Err(_) => break,
            }
        }
        let result = commit(&mut writer, &mut jobs, &origin).await;
        if let Err(e) = &result {
            tracing::error!(code = e.code(), jobs = jobs.len(), "batch not committed");
        }
        for job in jobs {
            if result.is_ok() {
                for after in job.after {
                    after();
                }
            }
            if let Some(done) = job.done {
                let _ = done.send(result.clone());
            }
        }
    }
    if let Err(e) = writer.close().await {
        tracing::warn!(code = e.code(), "writer connection did not close cleanly");
    }
}

async fn commit(
    writer: &mut ClaveMovilWriter,
    jobs: &mut [Job],
    origin: &AuditOrigin,
) -> Result<(), ClaveError> {
    // Coalesce: the last version of each request/device/activation wins; the rest keep
    // their order. Parents before children (foreign keys).
    let mut devices: Vec<DeviceRow> = Vec::new();
    let mut device_at: HashMap<String, usize> = HashMap::new();
    let mut activations: Vec<ActivationRow> = Vec::new();
    let mut activation_at: HashMap<String, usize> = HashMap::new();
    let mut requests: Vec<Box<AuthRequest>> = Vec::new();
    let mut request_at: HashMap<String, usize> = HashMap::new();
    let mut others: Vec<Write> = Vec::new();
    let mut audits: Vec<(AuditContext, NewAuditEntry)> = Vec::new();
    for job in jobs.iter_mut() {
        for write in job.writes.drain(..) {
            match write {
                Write::Device(d) => match device_at.get(&d.id) {
                    Some(&i) => devices[i] = d,
                    None => {
                        device_at.insert(d.id.clone(), devices.len());
                        devices.push(d);
                    }
                },
                Write::Activation(a) => match activation_at.get(&a.id) {
                    Some(&i) => activations[i] = a,
                    None => {
                        activation_at.insert(a.id.clone(), activations.len());
                        activations.push(a);
                    }
                },
                Write::Request(r) => match request_at.get(&r.id) {
                    Some(&i) => requests[i] = r,
                    None => {
                        request_at.insert(r.id.clone(), requests.len());
                        requests.push(r);
                    }
                },
                Write::Audit { entry, at } => audits.push((
                    AuditContext {
                        office_code: origin.office_code.clone(),
                        counter_number: origin.counter_number,
                        actor: "clave-movil".into(),
                        at,
                    },
                    entry,
                )),
                other => others.push(other),
            }
        }
    }

    let mut tx = writer.begin().await?;
    for chunk in devices.chunks(500) {
        let mut q: QueryBuilder<Sqlite> = QueryBuilder::new(
            "INSERT INTO clave_movil_devices (id, citizen_id, public_key, status, method, activated_at, ended_at) ",
        );
        q.push_values(chunk, |mut b, d| {
            b.push_bind(&d.id)
                .push_bind(&d.citizen_id)
                .push_bind(&d.public_key)
                .push_bind(d.status)
                .push_bind(d.method)
                .push_bind(d.activated_at)
                .push_bind(d.ended_at);
        });
        q.push(" ON CONFLICT (id) DO UPDATE SET status = excluded.status, ended_at = excluded.ended_at");
        q.build().execute(&mut *tx).await?;
    }
    for chunk in activations.chunks(500) {
        let mut q: QueryBuilder<Sqlite> = QueryBuilder::new(
            "INSERT INTO clave_movil_activations (id, method, citizen_id, secret_hash, tries, status, device_id, created_at, expires_at) ",
        );
        q.push_values(chunk, |mut b, a| {
            b.push_bind(&a.id)
                .push_bind(a.method)
                .push_bind(&a.citizen_id)
                .push_bind(hex::encode(a.secret_hash))
                .push_bind(i64::from(a.tries))
                .push_bind(a.status)
                .push_bind(&a.device_id)
                .push_bind(a.created_at)
                .push_bind(a.expires_at);
        });
        q.push(
            " ON CONFLICT (id) DO UPDATE SET tries = excluded.tries, status = excluded.status, \
             device_id = excluded.device_id",
        );
        q.build().execute(&mut *tx).await?;
    }
    for chunk in requests.chunks(400) {
        let mut q: QueryBuilder<Sqlite> = QueryBuilder::new(
            "INSERT INTO clave_movil_requests (id, service_id, body, kind, status, code, decoys, counter_number, \
             citizen_id, device_id, created_at, expires_at, completed_at, completed_by, reason, qr_token_hash, \
             qr_secret, qr_claimed, sms_requested_at, sms_sends, sms_tries, sms_pin_hash) ",
        );
        q.push_values(chunk, |mut b, r| {
            b.push_bind(&r.id)
                .push_bind(&r.service_id)
                .push_bind(&r.body)
                .push_bind(r.kind.as_str())
                .push_bind(r.status.as_str())
                .push_bind(r.code.to_string())
                .push_bind(format!("{},{}", r.decoys[0], r.decoys[1]))
                .push_bind(i64::from(r.counter))
                .push_bind(&r.citizen_id)
                .push_bind(&r.device_id)
                .push_bind(r.created_at)
                .push_bind(r.expires_at)
                .push_bind(r.completed_at)
                .push_bind(r.completed_by.map(CompletedBy::as_str))
                .push_bind(r.reason.map(Reason::as_str))
                .push_bind(r.qr.as_ref().map(|q| hex::encode(q.token_hash)))
                .push_bind(r.qr.as_ref().map(|q| hex::encode(q.secret)))
                .push_bind(r.qr.as_ref().is_some_and(|q| q.claimed))
                .push_bind(r.sms.requested_at)
                .push_bind(i64::from(r.sms.sends))
                .push_bind(i64::from(r.sms.tries))
                .push_bind(r.sms.pin_hash.map(hex::encode));
        });
        q.push(
            " ON CONFLICT (id) DO UPDATE SET status = excluded.status, citizen_id = excluded.citizen_id, \
             device_id = excluded.device_id, completed_at = excluded.completed_at, \
             completed_by = excluded.completed_by, reason = excluded.reason, qr_claimed = excluded.qr_claimed, \
             sms_requested_at = excluded.sms_requested_at, sms_sends = excluded.sms_sends, \
             sms_tries = excluded.sms_tries, sms_pin_hash = excluded.sms_pin_hash",
        );
        q.build().execute(&mut *tx).await?;
    }
    for write in others {
        match write {
            Write::SmsLog {
                id,
                subject,
                purpose,
                delivered,
                at,
            } => {
                sqlx::query(
                    "INSERT INTO clave_movil_sms_log (id, subject, purpose, delivered, sent_at) \
                     VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(id)
                .bind(hex::encode(subject))
                .bind(purpose)
                .bind(delivered)
                .bind(at)
                .execute(&mut *tx)
                .await?;
            }
            Write::Alert(a) => {
                sqlx::query(
                    "INSERT INTO clave_movil_alerts (id, kind, citizen_id, device_id, request_id, created_at) \
                     VALUES ($1, 'not_me', $2, $3, $4, $5)",
                )
                .bind(&a.id)
                .bind(&a.citizen_id)
                .bind(&a.device_id)
                .bind(&a.request_id)
                .bind(a.created_at)
                .execute(&mut *tx)
                .await?;
            }
            Write::Request(_) | Write::Device(_) | Write::Activation(_) | Write::Audit { .. } => {}
        }
    }
    store::clave_movil_audit_many(&mut tx, audits).await?;
    tx.commit().await?;
    Ok(())
}

/// An audit entry about a citizen.
pub(crate) fn audit(
    action: registry::AuditAction,
    citizen_id: &str,
    detail: Value,
    at: DateTime<Utc>,
) -> Write {
    Write::Audit {
        entry: NewAuditEntry {
            action,
            citizen_id: Some(citizen_id.to_owned()),
            detail,
        },
        at,
    }
}

// ------------------------------------------------------------------ reads

/// An active device with its citizen's document (loaded on start).
pub(crate) struct LoadedDevice {
    pub id: String,
    pub citizen_id: String,
    pub document: String,
    pub public_key: String,
}

pub(crate) async fn active_devices(pool: &SqlitePool) -> Result<Vec<LoadedDevice>, ClaveError> {
    let rows = sqlx::query(
        "SELECT d.id, d.citizen_id, d.public_key, c.document_number FROM clave_movil_devices d \
         JOIN citizens c ON c.id = d.citizen_id WHERE d.status = 'active' AND c.status = 'active'",
    )
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(LoadedDevice {
                id: r.try_get("id")?,
                citizen_id: r.try_get("citizen_id")?,
                document: r.try_get("document_number")?,
                public_key: r.try_get("public_key")?,
            })
        })
        .collect::<Result<_, sqlx::Error>>()
        .map_err(ClaveError::from)
}

fn hash32(text: Option<String>) -> Option<[u8; 32]> {
    let mut out = [0u8; 32];
    hex::decode_to_slice(text?, &mut out).ok()?;
    Some(out)
}

const REQUEST_COLUMNS: &str = "r.id, r.service_id, r.body, r.kind, r.status, r.code, r.decoys, r.counter_number, \
     r.citizen_id, r.device_id, r.created_at, r.expires_at, r.completed_at, r.completed_by, r.reason, \
     r.qr_token_hash, r.qr_secret, r.qr_claimed, r.sms_requested_at, r.sms_sends, r.sms_tries, r.sms_pin_hash, \
     c.document_number";

fn request_from_row(r: &sqlx::sqlite::SqliteRow) -> Result<AuthRequest, ClaveError> {
    let corrupt = || ClaveError::Storage;
    let kind: String = r.try_get("kind")?;
    let status: String = r.try_get("status")?;
    let code: String = r.try_get("code")?;
    let decoys: String = r.try_get("decoys")?;
    let mut decoy = decoys.split(',').filter_map(VerificationCode::parse);
    let code = VerificationCode::parse(&code).ok_or_else(corrupt)?;
    let decoys = [
        decoy.next().ok_or_else(corrupt)?,
        decoy.next().ok_or_else(corrupt)?,
    ];
    let completed_by: Option<String> = r.try_get("completed_by")?;
    let reason: Option<String> = r.try_get("reason")?;
    let counter: i64 = r.try_get("counter_number")?;
    let qr = match (
        hash32(r.try_get("qr_token_hash")?),
        hash32(r.try_get("qr_secret")?),
    ) {
        (Some(token_hash), Some(secret)) => Some(QrState {
            token_hash,
            token: None,
            secret,
            claimed: r.try_get("qr_claimed")?,
        }),
        _ => None,
    };
    let document: Option<String> = r.try_get("document_number")?;
    let sends: i64 = r.try_get("sms_sends")?;
    let tries: i64 = r.try_get("sms_tries")?;
    Ok(AuthRequest {
        id: r.try_get("id")?,
        service_id: r.try_get("service_id")?,
        body: r.try_get("body")?,
        kind: RequestKind::parse(&kind).ok_or_else(corrupt)?,
        status: RequestStatus::parse(&status).ok_or_else(corrupt)?,
        code,
        decoys,
        counter: u16::try_from(counter).map_err(|_| corrupt())?,
        citizen_id: r.try_get("citizen_id")?,
        document: document.and_then(|d| registry::DocumentNumber::parse(&d).ok()),
        device_id: r.try_get("device_id")?,
        created_at: r.try_get("created_at")?,
        expires_at: r.try_get("expires_at")?,
        completed_at: r.try_get("completed_at")?,
        completed_by: completed_by.as_deref().and_then(CompletedBy::parse),
        reason: reason.as_deref().and_then(Reason::parse),
        qr,
        sms: SmsState {
            requested_at: r.try_get("sms_requested_at")?,
            last_sent_at: r.try_get("sms_requested_at")?,
            sends: u32::try_from(sends).unwrap_or(0),
            tries: u32::try_from(tries).unwrap_or(0),
            pin_hash: hash32(r.try_get("sms_pin_hash")?),
        },
    })
}

pub(crate) async fn pending_requests(pool: &SqlitePool) -> Result<Vec<AuthRequest>, ClaveError> {
    let rows = sqlx::query(&format!(
        "SELECT {REQUEST_COLUMNS} FROM clave_movil_requests r LEFT JOIN citizens c ON c.id = r.citizen_id \
         WHERE r.status = 'pending'"
    ))
    .fetch_all(pool)
    .await?;
    rows.iter().map(request_from_row).collect()
}

pub(crate) async fn request(
    pool: &SqlitePool,
    id: &str,
) -> Result<Option<AuthRequest>, ClaveError> {
    let row = sqlx::query(&format!(
        "SELECT {REQUEST_COLUMNS} FROM clave_movil_requests r LEFT JOIN citizens c ON c.id = r.citizen_id \
         WHERE r.id = $1"
    ))
    .bind(id)
    .fetch_optional(pool)
    .await?;
    row.as_ref().map(request_from_row).transpose()
}

pub(crate) async fn pending_activations(
    pool: &SqlitePool,
    now: DateTime<Utc>,
) -> Result<Vec<ActivationRow>, ClaveError> {
    let rows = sqlx::query(
        "SELECT id, method, citizen_id, secret_hash, tries, created_at, expires_at FROM clave_movil_activations \
         WHERE status = 'pending' AND expires_at > $1",
    )
    .bind(now)
    .fetch_all(pool)
    .await?;
    let mut out = Vec::new();
    for r in &rows {
        let method: String = r.try_get("method")?;
        let tries: i64 = r.try_get("tries")?;
        let Some(secret_hash) = hash32(r.try_get("secret_hash")?) else {
            continue;
        };
        out.push(ActivationRow {
            id: r.try_get("id")?,
            method: if method == "qr" { "qr" } else { "sms" },
            citizen_id: r.try_get("citizen_id")?,
            secret_hash,
            tries: u32::try_from(tries).unwrap_or(u32::MAX),
            status: "pending",
            device_id: None,
            created_at: r.try_get("created_at")?,
            expires_at: r.try_get("expires_at")?,
        });
    }
    Ok(out)
}

/// SMS sent (or pretended) since `since`, by subject.
pub(crate) async fn sms_since(
    pool: &SqlitePool,
    since: DateTime<Utc>,
) -> Result<Vec<([u8; 16], DateTime<Utc>)>, ClaveError> {
    let rows = sqlx::query("SELECT subject, sent_at FROM clave_movil_sms_log WHERE sent_at > $1")
        .bind(since)
        .fetch_all(pool)
        .await?;
    let mut out = Vec::new();
    for r in &rows {
        let subject: String = r.try_get("subject")?;
        let mut s = [0u8; 16];
        if hex::decode_to_slice(subject, &mut s).is_ok() {
            out.push((s, r.try_get("sent_at")?));
        }
    }
    Ok(out)
}

pub(crate) async fn alerts(pool: &SqlitePool) -> Result<Vec<Alert>, ClaveError> {
    let rows = sqlx::query(
        "SELECT id, kind, citizen_id, device_id, request_id, created_at FROM clave_movil_alerts \
         WHERE acknowledged_at IS NULL ORDER BY created_at DESC, id",
    )
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Alert {
                id: r.try_get("id")?,
                kind: r.try_get("kind")?,
                citizen_id: r.try_get("citizen_id")?,
                device_id: r.try_get("device_id")?,
                request_id: r.try_get("request_id")?,
                created_at: r.try_get("created_at")?,
            })
        })
        .collect::<Result<_, sqlx::Error>>()
        .map_err(ClaveError::from)
}

/// Does this request belong to this citizen (any status, from the database)?
pub(crate) async fn request_citizen(
    pool: &SqlitePool,
    id: &str,
) -> Result<Option<(Option<String>, RequestStatus)>, ClaveError> {
    let row = sqlx::query("SELECT citizen_id, status FROM clave_movil_requests WHERE id = $1")
        .bind(id)
        .fetch_optional(pool)
        .await?;
    match row {
        None => Ok(None),
        Some(r) => {
            let status: String = r.try_get("status")?;
            Ok(Some((
                r.try_get("citizen_id")?,
                RequestStatus::parse(&status).ok_or(ClaveError::Storage)?,
            )))
        }
    }
}

fn start_of(day: NaiveDate) -> DateTime<Utc> {
    day.and_time(chrono::NaiveTime::MIN).and_utc()
}

/// "My requests": the citizen's requests with filters, ordering and paging.
pub(crate) async fn history(
    pool: &SqlitePool,
    citizen_id: &str,
    q: &HistoryQuery,
    now: DateTime<Utc>,
) -> Result<HistoryPage, ClaveError> {
    let per_page = q.per_page.unwrap_or(20);
    let page = q.page.unwrap_or(1);
    if !(1..=100).contains(&per_page) {
        return Err(ClaveError::InvalidParameter {
            detail: "per_page must be 1 to 100".into(),
        });
    }
    if !(1..=100_000).contains(&page) {
        return Err(ClaveError::InvalidParameter {
            detail: "page must be 1 to 100000".into(),
        });
    }
    if let (Some(from), Some(to)) = (q.from, q.to)
        && from > to
    {
        return Err(ClaveError::InvalidParameter {
            detail: "from is after to".into(),
        });
    }
    let body_pattern = match &q.body {
        Some(b) if b.chars().count() > 200 => {
            return Err(ClaveError::InvalidParameter {
                detail: "body filter too long".into(),
            });
        }
        Some(b) => {
            let escaped = b
                .to_lowercase()
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_");
            Some(format!("%{escaped}%"))
        }
        None => None,
    };
    // The day after `to` (none past the end of the calendar: no upper bound then).
    let to_bound = q.to.and_then(|d| {
        d.succ_opt()
            .map(start_of)
            .or_else(|| start_of(d).checked_add_signed(TimeDelta::days(1)))
    });

    let filters = |b: &mut QueryBuilder<Sqlite>| {
        b.push(" WHERE citizen_id = ")
            .push_bind(citizen_id.to_owned());
        if let Some(status) = q.status {
            match status {
                // A pending request past its deadline is expired even before the sweeper
                // has written it.
                RequestStatus::Pending => {
                    b.push(" AND status = 'pending' AND expires_at > ")
                        .push_bind(now);
                }
                RequestStatus::Expired => {
                    b.push(" AND (status = 'expired' OR (status = 'pending' AND expires_at <= ")
                        .push_bind(now)
                        .push("))");
                }
                other => {
                    b.push(" AND status = ").push_bind(other.as_str());
                }
            }
        }
        match q.request_type {
            Some(RequestType::Sms) => {
                b.push(" AND completed_by = 'sms'");
            }
            Some(RequestType::Qr) => {
                b.push(" AND kind = 'qr'");
            }
            Some(RequestType::NoQr) => {
                b.push(" AND kind = 'no_qr' AND (completed_by IS NULL OR completed_by <> 'sms')");
            }
            None => {}
        }
        if let Some(p) = &body_pattern {
            b.push(" AND LOWER(body) LIKE ")
                .push_bind(p.clone())
                .push(" ESCAPE '\\'");
        }
        if let Some(from) = q.from {
            b.push(" AND created_at >= ").push_bind(start_of(from));
        }
        if let Some(to) = to_bound {
            b.push(" AND created_at < ").push_bind(to);
        }
    };

    let mut count: QueryBuilder<Sqlite> =
        QueryBuilder::new("SELECT COUNT(*) FROM clave_movil_requests");
    filters(&mut count);
    let total: i64 = count.build().fetch_one(pool).await?.try_get(0)?;

    let mut list: QueryBuilder<Sqlite> = QueryBuilder::new(
        "SELECT id, body, kind, status, completed_by, created_at, expires_at FROM clave_movil_requests",
    );
    filters(&mut list);
    list.push(match q.order.unwrap_or_default() {
        HistoryOrder::Newest => " ORDER BY created_at DESC, id DESC",
        HistoryOrder::Oldest => " ORDER BY created_at ASC, id ASC",
        HistoryOrder::Body => " ORDER BY LOWER(body) ASC, created_at DESC, id DESC",
    });
    list.push(" LIMIT ")
        .push_bind(i64::from(per_page))
        .push(" OFFSET ")
        .push_bind(i64::from(page - 1) * i64::from(per_page));
    let rows = list.build().fetch_all(pool).await?;
    let mut items = Vec::with_capacity(rows.len());
    for r in &rows {
        let kind: String = r.try_get("kind")?;
        let status: String = r.try_get("status")?;
        let completed_by: Option<String> = r.try_get("completed_by")?;
        let created_at: DateTime<Utc> = r.try_get("created_at")?;
        let expires_at: DateTime<Utc> = r.try_get("expires_at")?;
        let mut status = RequestStatus::parse(&status).ok_or(ClaveError::Storage)?;
        if status == RequestStatus::Pending && expires_at <= now {
            status = RequestStatus::Expired;
        }
        let completed_by = completed_by.as_deref().and_then(CompletedBy::parse);
        let request_type = match (RequestKind::parse(&kind), completed_by) {
            (_, Some(CompletedBy::Sms)) => RequestType::Sms,
            (Some(RequestKind::Qr), _) => RequestType::Qr,
            _ => RequestType::NoQr,
        };
        items.push(HistoryItem {
            id: r.try_get("id")?,
            date: created_at.format("%Y-%m-%d").to_string(),
            time: created_at.format("%H:%M:%S").to_string(),
            created_at,
            body: r.try_get("body")?,
            request_type,
            status,
            completed_by,
        });
    }
    Ok(HistoryPage {
        items,
        page,
        per_page,
        total: u64::try_from(total).unwrap_or(0),
    })
}
