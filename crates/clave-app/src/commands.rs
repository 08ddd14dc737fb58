//! The commands.

use std::time::Duration;

use clave_movil::api::{HistoryQuery, PendingList};
use clave_movil::client::{DeviceClient, DeviceKey, Endpoint};
use clave_movil::domain::QrPayload;
use serde_json::{Value, json};

use crate::cli::{ActivateArgs, Cli, Command, RequestsArgs, ScanArgs};
use crate::error::AppError;
use crate::state::{PendingActivation, Saved, SavedDevice, StateDir};
use crate::{Answer, Env, qrimage, render};

/// The endpoint's long-poll accepts at most this many seconds per call.
const MAX_WAIT_PER_CALL: u64 = 30;

/// Runs one parsed command.
pub async fn execute(cli: &Cli, env: &Env) -> Result<Answer, AppError> {
    let dir = StateDir::new(match &cli.state {
        Some(d) => d.clone(),
        None => StateDir::default_dir()?,
    });
    match &cli.command {
        Command::Activate(args) => activate(&dir, env, args).await,
        Command::ActivateConfirm { code } => activate_confirm(&dir, env, code.as_deref()).await,
        Command::Scan(args) => scan(&dir, env, args).await,
        Command::Show { id } => {
            let r = device(&dir, env)?.1.request(id).await?;
            Ok(Answer {
                human: render::request(&r),
                json: to_json(&r),
            })
        }
        Command::Confirm { id, code } => {
            let r = device(&dir, env)?.1.confirm(id, code.as_deref()).await?;
            Ok(Answer {
                human: render::answered(&r),
                json: to_json(&r),
            })
        }
        Command::Reject { id } => {
            let r = device(&dir, env)?.1.reject(id).await?;
            Ok(Answer {
                human: render::answered(&r),
                json: to_json(&r),
            })
        }
        Command::NotMe { id } => not_me(&dir, env, id).await,
        Command::Pending { wait } => {
            let list = pending(&device(&dir, env)?.1, *wait).await?;
            Ok(Answer {
                human: render::pending(&list),
                json: to_json(&list),
            })
        }
        Command::Requests(args) => requests(&dir, env, args).await,
        Command::Status => status(&dir),
        Command::SignOut { force } => sign_out(&dir, env, *force).await,
    }
}

fn to_json<T: serde::Serialize>(value: &T) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

// ---------------------------------------------------------------- endpoint

/// The endpoint at `url`: HTTPS pinned to `pin` (or the web PKI without a pin), or plain
/// HTTP to a loopback address only.
pub(crate) fn endpoint(url: &str, pin: Option<&str>) -> Result<Endpoint, AppError> {
    let url = url.trim().trim_end_matches('/');
    let pin = pin.filter(|p| !p.is_empty());
    if let Some(rest) = url.strip_prefix("http://") {
        if !is_loopback_authority(rest) {
            return Err(AppError::PlainHttpOffLoopback);
        }
        if pin.is_some() {
            return Err(AppError::Input(
                "a TLS pin only applies to an https:// endpoint".into(),
            ));
        }
        return Ok(Endpoint::plain(url)?);
    }
    if url.starts_with("https://") && url.len() > "https://".len() {
        return Ok(match pin {
            Some(pin) => Endpoint::pinned(url, pin)?,
            None => Endpoint::plain(url)?,
        });
    }
    Err(AppError::Input(
        "the endpoint must be an https:// or a loopback http:// address".into(),
    ))
}

fn is_loopback_authority(rest: &str) -> bool {
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.contains('@') {
        return false;
    }
    let host = if let Some(v6) = authority.strip_prefix('[') {
        v6.split(']').next().unwrap_or_default()
    } else {
        authority.split(':').next().unwrap_or_default()
    };
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

fn same_endpoint(a: &str, b: &str) -> bool {
    a.trim()
        .trim_end_matches('/')
        .eq_ignore_ascii_case(b.trim().trim_end_matches('/'))
}

/// The activated device, ready to sign calls.
fn device(dir: &StateDir, env: &Env) -> Result<(Saved, DeviceClient), AppError> {
    let saved = dir.load()?;
    let (Some(dev), Some(url)) = (&saved.device, &saved.endpoint) else {
        return Err(AppError::NotActivated);
    };
    let ep = endpoint(url, saved.pin.as_deref())?;
    let key = dir.load_key()?;
    let client = DeviceClient::new(ep, key, env.clock.clone(), env.random.clone())
        .with_device_id(&dev.device_id);
    Ok((saved, client))
}

// ---------------------------------------------------------------- activation

async fn activate(dir: &StateDir, env: &Env, args: &ActivateArgs) -> Result<Answer, AppError> {
    let mut saved = dir.load()?;
    if let (Some(document), Some(contrast)) = (&args.document, &args.contrast) {
        // The SMS path: the endpoint sends a code to the registered phone (if the data
        // match; the answer is the same either way).
        let (url, pin) = match &args.endpoint {
            Some(url) => (url.clone(), args.pin.clone()),
            None => match &saved.endpoint {
                Some(url) => (url.clone(), args.pin.clone().or_else(|| saved.pin.clone())),
                None => {
                    return Err(AppError::Input(
                        "give the endpoint's address with --endpoint URL".into(),
                    ));
                }
            },
        };
        let ep = endpoint(&url, pin.as_deref())?;
        // Step 1 is not signed; the device key is made when the code is confirmed.
        let client = DeviceClient::new(
            ep,
            DeviceKey::generate(env.random.as_ref()),
            env.clock.clone(),
            env.random.clone(),
        );
        let started = client.start_activation(document, contrast).await?;
        saved.activation = Some(PendingActivation {
            activation_id: started.activation_id.clone(),
            endpoint: url.trim_end_matches('/').to_owned(),
            pin: pin.filter(|p| !p.is_empty()),
            expires_at: started.expires_at,
        });
        dir.save(&saved)?;
        let human = format!(
            "Si los datos coinciden con los registrados, le hemos enviado un código de 6 cifras \
             por SMS.\nEscríbalo con: clave-app activate-confirm --code NNNNNN \
             (válido hasta las {} UTC).\n",
            started.expires_at.format("%H:%M")
        );
        return Ok(Answer {
            json: json!({
                "activation_id": started.activation_id,
                "expires_at": started.expires_at,
                "endpoint": url.trim_end_matches('/'),
                "next": "activate-confirm",
            }),
            human,
        });
    }

    // The counter's activation QR.
    let payload = match (&args.qr, &args.qr_image) {
        (Some(p), _) => p.trim().to_owned(),
        (None, Some(path)) => qrimage::decode_file(path)?,
        (None, None) => {
            return Err(AppError::Input(
                "give --document and --contrast, --qr or --qr-image".into(),
            ));
        }
    };
    let parsed = QrPayload::parse(&payload).map_err(|_| AppError::QrNotRecognised)?;
    if matches!(parsed, QrPayload::Request { .. }) {
        return Err(AppError::RequestQrForActivation);
    }
    let url = parsed.endpoint().trim_end_matches('/').to_owned();
    let pin = Some(parsed.pin().to_owned()).filter(|p| !p.is_empty());
    let ep = endpoint(&url, pin.as_deref())?;
    let key = DeviceKey::generate(env.random.as_ref());
    let mut client = DeviceClient::new(ep, key, env.clock.clone(), env.random.clone());
    let done = client.activate_with_qr(&payload).await?;
    save_activated(dir, &mut saved, &client, url, pin, &done)
}

/// Keeps the new device (its key, endpoint, pin and id) and answers with it.
fn save_activated(
    dir: &StateDir,
    saved: &mut Saved,
    client: &DeviceClient,
    url: String,
    pin: Option<String>,
    done: &clave_movil::api::DeviceActivated,
) -> Result<Answer, AppError> {
    dir.save_key(client.key())?;
    saved.endpoint = Some(url.clone());
    saved.pin = pin;
    saved.activation = None;
    saved.device = Some(SavedDevice {
        device_id: done.device_id.clone(),
        document_masked: done.document_masked.clone(),
        activated_at: done.activated_at,
        blocked_at: None,
    });
    dir.save(saved)?;
    let mut json = to_json(done);
    if let Value::Object(map) = &mut json {
        map.insert("endpoint".into(), Value::String(url.to_owned()));
    }
    Ok(Answer {
        human: render::activated(done, &url),
        json,
    })
}

async fn activate_confirm(
    dir: &StateDir,
    env: &Env,
    code: Option<&str>,
) -> Result<Answer, AppError> {
    let mut saved = dir.load()?;
    let pending = saved.activation.clone().ok_or(AppError::NoActivation)?;
    let typed;
    let code = match code {
        Some(c) => c.trim(),
        None => {
            typed = (env.read_code)().map_err(|e| AppError::Input(e.to_string()))?;
            typed.trim()
        }
    };
    if code.is_empty() {
        return Err(AppError::Input("the SMS code is missing".into()));
    }
    let ep = endpoint(&pending.endpoint, pending.pin.as_deref())?;
    let key = DeviceKey::generate(env.random.as_ref());
    let mut client = DeviceClient::new(ep, key, env.clock.clone(), env.random.clone());
    let done = match client
        .complete_activation(&pending.activation_id, code)
        .await
    {
        Ok(done) => done,
        Err(e) => {
            let e = AppError::from(e);
            // A finished or expired activation cannot be completed any more.
            if matches!(e.code(), "CM-ACT-001" | "CM-ACT-003") {
                saved.activation = None;
                dir.save(&saved)?;
            }
            return Err(e);
        }
    };
    save_activated(
        dir,
        &mut saved,
        &client,
        pending.endpoint,
        pending.pin,
        &done,
    )
}

// ---------------------------------------------------------------- requests

async fn scan(dir: &StateDir, env: &Env, args: &ScanArgs) -> Result<Answer, AppError> {
    let (saved, client) = device(dir, env)?;
    let payload = match (&args.payload, &args.image) {
        (Some(p), _) => p.trim().to_owned(),
        (None, Some(path)) => qrimage::decode_file(path)?,
        (None, None) => return Err(AppError::Input("give a payload or --image".into())),
    };
    // A payload the app cannot read still goes to the endpoint, which answers with its
    // own code (CM-QR-001). A readable one must name this device's endpoint: a QR
    // pointing elsewhere (a relayed or forged code) is not followed.
    match QrPayload::parse(&payload) {
        Ok(QrPayload::Activation { .. }) => return Err(AppError::ActivationQrScanned),
        Ok(parsed) => {
            let same = match &saved.pin {
                Some(pin) => parsed.pin() == pin,
                None => saved
                    .endpoint
                    .as_deref()
                    .is_some_and(|e| same_endpoint(e, parsed.endpoint())),
            };
            if !same {
                return Err(AppError::QrOtherEndpoint);
            }
        }
        Err(_) => {}
    }
    let r = client.scan(&payload).await?;
    Ok(Answer {
        human: render::request(&r),
        json: to_json(&r),
    })
}

/// Long-polls until a request is pending or `wait` seconds passed (several calls when
/// `wait` is longer than the endpoint's 30 s).
async fn pending(client: &DeviceClient, wait: u64) -> Result<PendingList, AppError> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(wait);
    loop {
        // Whole seconds, rounded up (the endpoint's `wait` is in seconds).
        let left = deadline
            .saturating_duration_since(tokio::time::Instant::now())
            .as_millis()
            .div_ceil(1000)
            .min(u128::from(MAX_WAIT_PER_CALL));
        let left = u64::try_from(left).unwrap_or(MAX_WAIT_PER_CALL);
        let list = client.pending(left).await?;
        if !list.requests.is_empty() || left == 0 || tokio::time::Instant::now() >= deadline {
            return Ok(list);
        }
    }
}

async fn not_me(dir: &StateDir, env: &Env, id: &str) -> Result<Answer, AppError> {
    let (mut saved, client) = device(dir, env)?;
    let recorded = client.not_me(id).await?;
    if let Some(dev) = &mut saved.device {
        dev.blocked_at = Some(env.clock.now());
    }
    dir.save(&saved)?;
    Ok(Answer {
        human: "Hemos rechazado la solicitud, bloqueado este dispositivo y avisado a la oficina.\n\
                Para volver a usar Cl@ve Móvil, active el dispositivo de nuevo (en una oficina o \
                con un código SMS).\n"
            .into(),
        json: to_json(&recorded),
    })
}

async fn requests(dir: &StateDir, env: &Env, args: &RequestsArgs) -> Result<Answer, AppError> {
    let (_, client) = device(dir, env)?;
    let query = HistoryQuery {
        status: args.status.map(Into::into),
        request_type: args.kind.map(Into::into),
        body: args.body.clone(),
        from: args.from,
        to: args.to,
        order: args.order.map(Into::into),
        page: args.page,
        per_page: args.per_page,
    };
    let page = client.history(&query).await?;
    Ok(Answer {
        human: render::history(&page),
        json: to_json(&page),
    })
}

// ---------------------------------------------------------------- state

fn status(dir: &StateDir) -> Result<Answer, AppError> {
    let saved = dir.load()?;
    let key_present = dir.key_path().is_file();
    let json = json!({
        "state_dir": dir.path().display().to_string(),
        "activated": saved.device.is_some() && key_present,
        "endpoint": saved.endpoint,
        "pinned": saved.pin.is_some(),
        "pin": saved.pin,
        "device_id": saved.device.as_ref().map(|d| d.device_id.clone()),
        "document_masked": saved.device.as_ref().map(|d| d.document_masked.clone()),
        "activated_at": saved.device.as_ref().map(|d| d.activated_at),
        "blocked": saved.device.as_ref().is_some_and(|d| d.blocked_at.is_some()),
        "activation_pending": saved.activation.as_ref().map(|a| json!({
            "activation_id": a.activation_id,
            "endpoint": a.endpoint,
            "expires_at": a.expires_at,
        })),
    });
    let mut human = match (&saved.device, &saved.endpoint) {
        (Some(d), Some(url)) if key_present => {
            let mut s = format!(
                "Activado para {} en {} desde {} UTC{}.\n",
                d.document_masked,
                url,
                d.activated_at.format("%Y-%m-%d %H:%M"),
                if saved.pin.is_some() {
                    " (TLS fijado)"
                } else {
                    ""
                }
            );
            if d.blocked_at.is_some() {
                s.push_str("Bloqueado tras «No he sido yo»: active de nuevo.\n");
            }
            s
        }
        _ => "No activado. (Not activated.)\n".to_owned(),
    };
    if let Some(a) = &saved.activation {
        human.push_str(&format!(
            "Activación por SMS en curso hasta las {} UTC: clave-app activate-confirm --code NNNNNN\n",
            a.expires_at.format("%H:%M")
        ));
    }
    Ok(Answer { json, human })
}

async fn sign_out(dir: &StateDir, env: &Env, force: bool) -> Result<Answer, AppError> {
    let (mut saved, client) = device(dir, env)?;
    let answer = match client.sign_out().await {
        Ok(()) => "signed_out",
        // Already replaced, blocked or signed out elsewhere: forgetting it is right.
        Err(e) => match AppError::from(e) {
            e if matches!(e.code(), "CM-AUTH-004" | "CM-AUTH-007") => "already_inactive",
            _ if force => "not_reached",
            e => return Err(e),
        },
    };
    dir.remove_key()?;
    saved.device = None;
    dir.save(&saved)?;
    let human = match answer {
        "signed_out" => "Sesión cerrada: el dispositivo está desactivado y su clave borrada.\n",
        "already_inactive" => {
            "El servidor ya no tenía activo este dispositivo; su clave se ha borrado.\n"
        }
        _ => "No se pudo avisar al servidor; la clave del dispositivo se ha borrado.\n",
    };
    Ok(Answer {
        json: json!({ "signed_out": true, "endpoint_answer": answer }),
        human: human.into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_only_on_loopback() {
        for ok in [
            "http://127.0.0.1:8080",
            "http://127.1.2.3",
            "http://localhost:1/",
            "http://[::1]:8443",
        ] {
            assert!(endpoint(ok, None).is_ok(), "{ok}");
        }
        for bad in [
            "http://192.168.1.20:8080",
            "http://example.org",
            "http://127.0.0.1.evil.org",
            "http://127.0.0.1@evil.org",
            "http://[::2]:1",
        ] {
            assert_eq!(endpoint(bad, None).unwrap_err().code(), "APP-010", "{bad}");
        }
        assert_eq!(endpoint("ftp://x", None).unwrap_err().code(), "APP-011");
        assert!(endpoint("https://192.168.1.20:8443", Some("abc")).is_ok());
        assert!(endpoint("https://192.168.1.20:8443", None).is_ok());
        assert!(endpoint("http://127.0.0.1:1", Some("")).is_ok());
        assert_eq!(
            endpoint("http://127.0.0.1:1", Some("abc"))
                .unwrap_err()
                .code(),
            "APP-011"
        );
    }

    #[test]
    fn endpoints_compare_loosely() {
        assert!(same_endpoint("http://127.0.0.1:1/", "HTTP://127.0.0.1:1"));
        assert!(!same_endpoint("http://127.0.0.1:1", "http://127.0.0.1:2"));
    }
}
