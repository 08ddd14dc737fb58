//! Human-readable output: Spanish first, short. (`--json` prints the API's own shapes.)

use std::fmt::Write;

use clave_movil::api::{DeviceActivated, DeviceRequest, HistoryPage, PendingList};
use clave_movil::domain::{CompletedBy, RequestStatus, RequestType};

pub fn status_es(s: RequestStatus) -> &'static str {
    match s {
        RequestStatus::Pending => "pendiente",
        RequestStatus::Confirmed => "confirmada",
        RequestStatus::Rejected => "rechazada",
        RequestStatus::Expired => "caducada",
        RequestStatus::Cancelled => "cancelada",
    }
}

pub fn type_es(t: RequestType) -> &'static str {
    match t {
        RequestType::Qr => "con QR",
        RequestType::NoQr => "sin QR",
        RequestType::Sms => "SMS",
    }
}

/// `4 min 58 s`.
pub fn duration_es(secs: u64) -> String {
    match (secs / 60, secs % 60) {
        (0, s) => format!("{s} s"),
        (m, 0) => format!("{m} min"),
        (m, s) => format!("{m} min {s} s"),
    }
}

/// A request as the app shows it after a scan or `show`.
pub fn request(r: &DeviceRequest) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} solicita su autenticación ({}, puesto {}).",
        r.body,
        type_es(r.request_type),
        r.counter
    );
    if r.status != RequestStatus::Pending {
        let _ = writeln!(out, "Estado: {}.", status_es(r.status));
        let _ = writeln!(out, "Solicitud: {}", r.id);
        return out;
    }
    if let Some(code) = &r.code {
        let _ = writeln!(
            out,
            "Código de verificación: {code} — compruebe que coincide con el de la pantalla."
        );
    }
    if let Some(choices) = &r.choices {
        let _ = writeln!(
            out,
            "¿Qué código ve en la pantalla? {}",
            choices.join(" · ")
        );
    }
    let _ = writeln!(out, "Caduca en {}.", duration_es(r.seconds_left));
    let _ = writeln!(out, "Solicitud: {}", r.id);
    if r.choices.is_some() {
        let _ = writeln!(
            out,
            "Confirmar: clave-app confirm {} --code NNN · Rechazar: clave-app reject {}",
            r.id, r.id
        );
    } else {
        let _ = writeln!(
            out,
            "Confirmar: clave-app confirm {} · Rechazar: clave-app reject {}",
            r.id, r.id
        );
    }
    out
}

/// After confirm / reject.
pub fn answered(r: &DeviceRequest) -> String {
    match r.status {
        RequestStatus::Confirmed => format!(
            "Autenticación confirmada ante {}. (Authentication confirmed.)\n",
            r.body
        ),
        RequestStatus::Rejected => {
            format!("Solicitud de {} rechazada. (Request rejected.)\n", r.body)
        }
        other => format!("Solicitud de {}: {}.\n", r.body, status_es(other)),
    }
}

pub fn pending(list: &PendingList) -> String {
    if list.requests.is_empty() {
        return "No hay solicitudes pendientes. (No pending requests.)\n".into();
    }
    let mut out = format!("Solicitudes pendientes: {}\n", list.requests.len());
    for r in &list.requests {
        let what = match (&r.code, &r.choices) {
            (Some(code), _) => format!("código {code}"),
            (None, Some(choices)) => format!("elija entre {}", choices.join(" · ")),
            (None, None) => String::new(),
        };
        let _ = writeln!(
            out,
            "  {}  {} ({}) · {} · caduca en {}",
            r.id,
            r.body,
            type_es(r.request_type),
            what,
            duration_es(r.seconds_left)
        );
    }
    out
}

pub fn history(page: &HistoryPage) -> String {
    if page.items.is_empty() {
        return format!(
            "No hay solicitudes (página {}, {} en total).\n",
            page.page, page.total
        );
    }
    let rows: Vec<[String; 6]> = page
        .items
        .iter()
        .map(|i| {
            let status = match (i.status, i.completed_by) {
                (RequestStatus::Confirmed, Some(CompletedBy::Sms)) => "confirmada (SMS)".into(),
                (s, _) => status_es(s).to_owned(),
            };
            [
                i.date.clone(),
                i.time.clone(),
                i.body.clone(),
                type_es(i.request_type).to_owned(),
                status,
                i.id.clone(),
            ]
        })
        .collect();
    let header = ["Fecha", "Hora", "Organismo", "Tipo", "Estado", "Solicitud"];
    let mut widths = header.map(|h| h.chars().count());
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cells: [&str; 6]| {
        let mut text = String::new();
        for (i, (cell, w)) in cells.iter().zip(widths).enumerate() {
            if i + 1 == cells.len() {
                text.push_str(cell);
            } else {
                let _ = write!(text, "{cell:<w$}  ");
            }
        }
        out.push_str(text.trim_end());
        out.push('\n');
    };
    line(header);
    for row in &rows {
        line(row.each_ref().map(String::as_str));
    }
    let pages = page.total.div_ceil(u64::from(page.per_page.max(1)));
    let _ = writeln!(
        out,
        "Página {} de {} · {} solicitudes en total",
        page.page,
        pages.max(1),
        page.total
    );
    out
}

pub fn activated(done: &DeviceActivated, endpoint: &str) -> String {
    format!(
        "Dispositivo activado para {} en {}. (Device activated.)\n",
        done.document_masked, endpoint
    )
}
