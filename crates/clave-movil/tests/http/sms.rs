//! SMS fallback: after 60 s, a 6-digit PIN; one valid PIN; three tries; an hourly cap;
//! completion recorded as SMS. And the `http` gateway against a local server.

use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::HeaderMap;
use clave_movil::config::SmsConfig;
use clave_movil::domain::{CompletedBy, Reason, RequestStatus, RequestType};

use crate::common::*;

async fn pin_for(h: &Harness, phone: &str, skip: usize) -> String {
    h.code_sent(phone, skip + 1).await
}

#[tokio::test]
async fn the_pin_opens_after_sixty_seconds_and_completes_the_request() {
    let h = Harness::start().await;
    let req = h.service.create_no_qr(BEA.0, BEA.1).await.unwrap();
    h.advance(59);
    let e = h.service.request_sms(&req.id).await.unwrap_err();
    assert_eq!(e.code(), Some("CM-SMS-001"));
    assert_eq!(e.problem().unwrap().retry_after, Some(1));
    let e = h.service.verify_pin(&req.id, "123456").await.unwrap_err();
    assert_eq!(e.code(), Some("CM-SMS-004"));
    h.advance(1);
    let sent = h.service.request_sms(&req.id).await.unwrap();
    assert!(sent.sent);
    assert_eq!(sent.tries_left, 3);
    let pin = pin_for(&h, BEA.2, 0).await;
    assert_eq!(pin.len(), 6);
    let wrong = if pin == "000000" { "111111" } else { "000000" };
    let e = h.service.verify_pin(&req.id, wrong).await.unwrap_err();
    assert_eq!(e.code(), Some("CM-SMS-003"));
    assert_eq!(e.problem().unwrap().tries_left, Some(2));
    assert_eq!(
        h.service
            .verify_pin(&req.id, "12345")
            .await
            .unwrap_err()
            .code(),
        Some("CM-002")
    );
    let done = h.service.verify_pin(&req.id, &pin).await.unwrap();
    assert_eq!(done.status, RequestStatus::Confirmed);
    assert_eq!(done.request_type, RequestType::Sms);
    assert_eq!(done.completed_by, Some(CompletedBy::Sms));
    assert_eq!(done.reason, Some(Reason::ConfirmedBySms));
    // The PIN is not stored in clear.
    let row: (Option<String>,) =
        sqlx::query_as("SELECT sms_pin_hash FROM clave_movil_requests WHERE id = $1")
            .bind(&req.id)
            .fetch_one(h.store.pool())
            .await
            .unwrap();
    assert_ne!(row.0.as_deref(), Some(pin.as_str()));
    assert_eq!(row.0.unwrap().len(), 64);
    // QR requests have no SMS path.
    let qr = h.service.create_qr(None).await.unwrap();
    h.advance(60);
    assert_eq!(
        h.service.request_sms(&qr.id).await.unwrap_err().code(),
        Some("CM-REQ-005")
    );
}

#[tokio::test]
async fn asking_again_keeps_one_valid_pin_and_tries_are_per_request() {
    let h = Harness::start().await;
    let req = h.service.create_no_qr(ANA.0, ANA.1).await.unwrap();
    h.advance(60);
    h.service.request_sms(&req.id).await.unwrap();
    let first = pin_for(&h, ANA.2, 0).await;
    let e = h.service.request_sms(&req.id).await.unwrap_err();
    assert_eq!(e.code(), Some("CM-SMS-006"));
    h.advance(30);
    let again = h.service.request_sms(&req.id).await.unwrap();
    assert_eq!(again.tries_left, 3);
    let second = pin_for(&h, ANA.2, 1).await;
    if first != second {
        let e = h.service.verify_pin(&req.id, &first).await.unwrap_err();
        assert_eq!(
            e.code(),
            Some("CM-SMS-003"),
            "the old PIN is no longer valid"
        );
    }
    h.service.verify_pin(&req.id, &second).await.unwrap();
}

#[tokio::test]
async fn three_wrong_pins_end_the_request() {
    let h = Harness::start().await;
    let req = h.service.create_no_qr(CARLOS.0, CARLOS.1).await.unwrap();
    h.advance(60);
    h.service.request_sms(&req.id).await.unwrap();
    let pin = pin_for(&h, CARLOS.2, 0).await;
    let wrong = if pin == "000000" { "111111" } else { "000000" };
    for left in [2, 1] {
        let e = h.service.verify_pin(&req.id, wrong).await.unwrap_err();
        assert_eq!(e.problem().unwrap().tries_left, Some(left));
    }
    let e = h.service.verify_pin(&req.id, wrong).await.unwrap_err();
    assert_eq!(e.code(), Some("CM-SMS-005"));
    let e = h.service.verify_pin(&req.id, &pin).await.unwrap_err();
    assert_eq!(e.code(), Some("CM-REQ-002"));
    let o = h.service.wait_outcome(&req.id, 0).await.unwrap();
    assert_eq!(o.request.status, RequestStatus::Rejected);
    assert_eq!(o.request.reason, Some(Reason::SmsTriesExhausted));
}

#[tokio::test]
async fn sms_per_citizen_per_hour_are_capped() {
    let h = Harness::start_with(|c| c.policy.sms_per_hour = 2).await;
    for _ in 0..2 {
        let req = h.service.create_no_qr(ANA.0, ANA.1).await.unwrap();
        h.advance(60);
        h.service.request_sms(&req.id).await.unwrap();
    }
    let req = h.service.create_no_qr(ANA.0, ANA.1).await.unwrap();
    h.advance(60);
    let e = h.service.request_sms(&req.id).await.unwrap_err();
    assert_eq!(e.code(), Some("CM-SMS-002"));
    assert!(e.problem().unwrap().retry_after.unwrap() > 3000);
    // Activation codes count against the same cap.
    let e = h.device().start_activation(ANA.0, ANA.1).await.unwrap_err();
    assert_eq!(e.code(), Some("CM-SMS-002"));
    // An hour later it is open again.
    h.advance(3600);
    let req = h.service.create_no_qr(ANA.0, ANA.1).await.unwrap();
    h.advance(60);
    h.service.request_sms(&req.id).await.unwrap();
}

#[derive(Clone, Default)]
struct Received(Arc<Mutex<Vec<(HeaderMap, String)>>>);

async fn gateway(State(r): State<Received>, headers: HeaderMap, body: String) -> &'static str {
    r.0.lock().unwrap().push((headers, body));
    "queued"
}

#[tokio::test]
async fn the_http_gateway_posts_the_template() {
    let received = Received::default();
    let app = axum::Router::new()
        .route("/send", axum::routing::post(gateway))
        .with_state(received.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let h = Harness::start_with(|c| {
        c.sms = SmsConfig::Http {
            url: format!("http://{addr}/send"),
            method: "POST".into(),
            headers: [("X-Api-Token".to_owned(), "gw-secret".to_owned())].into(),
            body_template: r#"{"to":"{phone}","message":"{text}","sender":"CLAVE"}"#.into(),
            content_type: "application/json".into(),
            timeout_secs: 5,
        }
    })
    .await;
    let mut device = h.device();
    let started = device.start_activation(BEA.0, BEA.1).await.unwrap();
    let mut got = None;
    for _ in 0..100 {
        if let Some(m) = received.0.lock().unwrap().first().cloned() {
            got = Some(m);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let (headers, body) = got.expect("the gateway was called");
    assert_eq!(headers.get("x-api-token").unwrap(), "gw-secret");
    assert_eq!(headers.get("content-type").unwrap(), "application/json");
    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(json["to"], format!("+34{}", BEA.2));
    assert_eq!(json["sender"], "CLAVE");
    let code = clave_movil::sms::code_in(json["message"].as_str().unwrap()).unwrap();
    device
        .complete_activation(&started.activation_id, &code)
        .await
        .unwrap();
    // Nothing went to the outbox.
    assert_eq!(h.outbox_len().await, 0);
}
