//! Devices: activation by SMS code and by activation QR, one active device per citizen,
//! signed calls (replay, stale timestamps, tampering), wrong device, sign-out and
//! "this wasn't me".

use clave_movil::domain::{Reason, RequestStatus};
use hyper::Method;

use crate::common::*;

/// The actions of the audit trail, oldest first.
async fn audit_actions(h: &Harness) -> Vec<String> {
    let entries = h.store.audit_entries().await.unwrap();
    entries.into_iter().map(|e| e.action).collect()
}

#[tokio::test]
async fn activation_by_sms_code() {
    let h = Harness::start().await;
    let mut device = h.device();
    let started = device.start_activation(ANA.0, "30-06-2031").await.unwrap();
    let text = h
        .sms_to(ANA.2)
        .await
        .expect("an SMS to the registered phone");
    let code = clave_movil::sms::code_in(&text).unwrap();
    let done = device
        .complete_activation(&started.activation_id, &code)
        .await
        .unwrap();
    assert_eq!(done.document_masked, "****5678Z");
    assert_eq!(device.device_id(), Some(done.device_id.as_str()));
    assert!(device.pending(0).await.unwrap().requests.is_empty());
    // The code was single use.
    let mut again = h.device();
    let e = again
        .complete_activation(&started.activation_id, &code)
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("CM-ACT-001"));
    // Activation is audited (and the chain is intact).
    let report = h.store.verify_audit().await.unwrap();
    assert!(report.intact());
    let actions = audit_actions(&h).await;
    assert!(actions.contains(&"device_activated".to_owned()));
}

#[tokio::test]
async fn wrong_activation_codes_are_limited_to_three() {
    let h = Harness::start().await;
    let mut device = h.device();
    let started = device.start_activation(CARLOS.0, CARLOS.1).await.unwrap();
    let code = clave_movil::sms::code_in(&h.sms_to(CARLOS.2).await.unwrap()).unwrap();
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let e = device
        .complete_activation(&started.activation_id, wrong)
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("CM-ACT-002"));
    assert_eq!(e.problem().unwrap().tries_left, Some(2));
    let e = device
        .complete_activation(&started.activation_id, wrong)
        .await
        .unwrap_err();
    assert_eq!(e.problem().unwrap().tries_left, Some(1));
    let e = device
        .complete_activation(&started.activation_id, wrong)
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("CM-ACT-003"));
    // Even the right code is refused now.
    let e = device
        .complete_activation(&started.activation_id, &code)
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("CM-ACT-003"));
    // Malformed codes do not count.
    let started = device.start_activation(CARLOS.0, CARLOS.1).await.unwrap();
    let e = device
        .complete_activation(&started.activation_id, "12ab")
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("CM-002"));
    // Expired after five minutes.
    h.advance(300);
    let e = device
        .complete_activation(&started.activation_id, "123456")
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("CM-ACT-001"));
}

#[tokio::test]
async fn a_second_device_deactivates_the_first() {
    let h = Harness::start().await;
    let first = h.activated(ANA.0).await;
    let second = h.activated(ANA.0).await;
    let e = first.pending(0).await.unwrap_err();
    assert_eq!(e.code(), Some("CM-AUTH-007"));
    let req = h.service.create_no_qr(ANA.0, ANA.1).await.unwrap();
    assert_eq!(
        first
            .confirm(&req.id, Some(&req.code))
            .await
            .unwrap_err()
            .code(),
        Some("CM-AUTH-007")
    );
    assert_eq!(second.pending(0).await.unwrap().requests.len(), 1);
    second.confirm(&req.id, Some(&req.code)).await.unwrap();
    let actions = audit_actions(&h).await;
    assert!(actions.contains(&"device_deactivated".to_owned()));
}

#[tokio::test]
async fn activation_qr_is_single_use_and_short_lived() {
    let h = Harness::start().await;
    let qr = h.office.activation_qr(BEA.0).await.unwrap();
    let mut a = h.device();
    a.activate_with_qr(&qr.payload).await.unwrap();
    let mut b = h.device();
    assert_eq!(
        b.activate_with_qr(&qr.payload).await.unwrap_err().code(),
        Some("CM-ACT-005")
    );
    let late = h.office.activation_qr(BEA.0).await.unwrap();
    h.advance(301);
    assert_eq!(
        b.activate_with_qr(&late.payload).await.unwrap_err().code(),
        Some("CM-ACT-005")
    );
    // Not registered: the counter is told (the clerk identified the person).
    assert_eq!(
        h.office
            .activation_qr("87654321X")
            .await
            .unwrap_err()
            .code(),
        Some("CM-ACT-001")
    );
    // Only the office key may ask.
    assert_eq!(
        h.service.activation_qr(BEA.0).await.unwrap_err().code(),
        Some("CM-AUTH-002")
    );
}

#[tokio::test]
async fn signed_calls_refuse_replays_stale_timestamps_and_tampering() {
    let h = Harness::start().await;
    let device = h.activated(ANA.0).await;
    let path = "/v1/device/requests/pending?wait=0";
    let headers = device.signature_headers("GET", path, b"");
    let ok =
        h.ep.raw(Method::GET, path, &headers, Vec::new())
            .await
            .unwrap();
    assert_eq!(ok.status, 200);
    // Replay: the same headers again.
    let replay =
        h.ep.raw(Method::GET, path, &headers, Vec::new())
            .await
            .unwrap();
    assert_eq!(replay.status, 401);
    assert_eq!(code_of(&replay), "CM-AUTH-006");
    // Same signature on another path (or query): invalid.
    let other = device.signature_headers("GET", path, b"");
    let moved =
        h.ep.raw(
            Method::GET,
            "/v1/device/requests/pending?wait=1",
            &other,
            Vec::new(),
        )
        .await
        .unwrap();
    assert_eq!(code_of(&moved), "CM-AUTH-004");
    // Tampered body.
    let req = h.service.create_no_qr(ANA.0, ANA.1).await.unwrap();
    let confirm = format!("/v1/device/requests/{}/confirm", req.id);
    let body = format!("{{\"code\":\"{}\"}}", req.code);
    let signed = device.signature_headers("POST", &confirm, body.as_bytes());
    let tampered =
        h.ep.raw(
            Method::POST,
            &confirm,
            &signed,
            b"{\"code\":\"999\"}".to_vec(),
        )
        .await
        .unwrap();
    assert_eq!(code_of(&tampered), "CM-AUTH-004");
    // Stale timestamp: 31 seconds old.
    let stale = device.signature_headers("GET", path, b"");
    h.advance(31);
    let r =
        h.ep.raw(Method::GET, path, &stale, Vec::new())
            .await
            .unwrap();
    assert_eq!(code_of(&r), "CM-AUTH-005");
    // Missing headers; unknown device.
    let r = h.ep.raw(Method::GET, path, &[], Vec::new()).await.unwrap();
    assert_eq!(code_of(&r), "CM-AUTH-003");
    let stranger = h
        .device()
        .with_device_id("00000000-0000-4000-8000-000000000000");
    assert_eq!(
        stranger.pending(0).await.unwrap_err().code(),
        Some("CM-AUTH-004")
    );
    // The genuine device still works.
    assert_eq!(device.pending(0).await.unwrap().requests.len(), 1);
}

fn code_of(r: &clave_movil::net::Response) -> String {
    assert_eq!(
        r.headers.get("content-type").unwrap().to_str().unwrap(),
        "application/problem+json"
    );
    let p: clave_movil::api::Problem = serde_json::from_slice(&r.body).unwrap();
    p.code
}

#[tokio::test]
async fn another_citizens_device_cannot_see_or_answer_a_request() {
    let h = Harness::start().await;
    let ana = h.activated(ANA.0).await;
    let bea = h.activated(BEA.0).await;
    let req = h.service.create_no_qr(ANA.0, ANA.1).await.unwrap();
    assert!(bea.pending(0).await.unwrap().requests.is_empty());
    assert_eq!(
        bea.request(&req.id).await.unwrap_err().code(),
        Some("CM-REQ-001")
    );
    assert_eq!(
        bea.confirm(&req.id, Some(&req.code))
            .await
            .unwrap_err()
            .code(),
        Some("CM-REQ-001")
    );
    assert_eq!(
        bea.reject(&req.id).await.unwrap_err().code(),
        Some("CM-REQ-001")
    );
    assert_eq!(
        bea.not_me(&req.id).await.unwrap_err().code(),
        Some("CM-REQ-001")
    );
    let details = ana.request(&req.id).await.unwrap();
    assert_eq!(details.seconds_left, 300);
    let rejected = ana.reject(&req.id).await.unwrap();
    assert_eq!(rejected.status, RequestStatus::Rejected);
    let o = h.service.wait_outcome(&req.id, 0).await.unwrap();
    assert_eq!(o.request.reason, Some(Reason::RejectedByCitizen));
}

#[tokio::test]
async fn sign_out_deactivates_the_device() {
    let h = Harness::start().await;
    let device = h.activated(CARLOS.0).await;
    device.sign_out().await.unwrap();
    assert_eq!(
        device.pending(0).await.unwrap_err().code(),
        Some("CM-AUTH-007")
    );
    assert_eq!(
        device.sign_out().await.unwrap_err().code(),
        Some("CM-AUTH-007")
    );
}

#[tokio::test]
async fn this_was_not_me_blocks_the_device_and_alerts_the_office() {
    let h = Harness::start().await;
    let device = h.activated(ANA.0).await;
    let req = h.service.create_no_qr(ANA.0, ANA.1).await.unwrap();
    let recorded = device.not_me(&req.id).await.unwrap();
    assert!(recorded.blocked);
    let o = h.service.wait_outcome(&req.id, 0).await.unwrap();
    assert_eq!(o.request.status, RequestStatus::Rejected);
    assert_eq!(o.request.reason, Some(Reason::NotMe));
    assert_eq!(
        device.pending(0).await.unwrap_err().code(),
        Some("CM-AUTH-007")
    );
    let alerts = h.office.alerts().await.unwrap();
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0].id, recorded.alert_id);
    assert_eq!(alerts[0].request_id, req.id);
    assert_eq!(alerts[0].device_id, device.device_id().unwrap());
    assert_eq!(h.running.engine().alerts().await.unwrap().len(), 1);
    assert_eq!(
        h.service.alerts().await.unwrap_err().code(),
        Some("CM-AUTH-002")
    );
    let actions = audit_actions(&h).await;
    assert!(actions.contains(&"device_blocked".to_owned()));
    // A new activation is possible (a lockout the citizen can undo).
    let again = h.activated(ANA.0).await;
    assert!(again.pending(0).await.unwrap().requests.is_empty());
}
