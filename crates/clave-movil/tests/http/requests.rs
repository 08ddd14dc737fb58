//! Request lifecycle: creation, codes, number matching, expiry, supersession,
//! long-poll and server-sent events, signed outcomes.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use clave_movil::client::verify_outcome;
use clave_movil::domain::{CompletedBy, Reason, RequestKind, RequestStatus, RequestType};

use crate::common::*;

#[tokio::test]
async fn qr_request_confirmed_on_the_device_gives_a_signed_outcome() {
    let h = Harness::start().await;
    let device = h.activated(ANA.0).await;
    let req = h.service.create_qr(Some(3)).await.unwrap();
    assert_eq!(req.kind, RequestKind::Qr);
    assert_eq!(req.status, RequestStatus::Pending);
    assert_eq!(req.body, BODY);
    assert_eq!(req.counter, 3);
    assert_eq!(req.code.len(), 3);
    assert_eq!(req.seconds_left, 300);
    assert!(req.sms_available_at.is_none());

    let frame = h.service.qr_frame(&req.id).await.unwrap();
    let seen = device.scan(&frame.payload).await.unwrap();
    assert_eq!(seen.body, BODY);
    assert_eq!(seen.code.as_deref(), Some(req.code.as_str()));
    assert!(seen.choices.is_none());
    assert_eq!(seen.request_type, RequestType::Qr);

    let confirmed = device.confirm(&req.id, None).await.unwrap();
    assert_eq!(confirmed.status, RequestStatus::Confirmed);

    let outcome = h.service.wait_outcome(&req.id, 0).await.unwrap();
    assert!(outcome.is_final);
    assert_eq!(outcome.request.status, RequestStatus::Confirmed);
    assert_eq!(outcome.request.completed_by, Some(CompletedBy::Device));
    let jwks = h.service.jwks().await.unwrap();
    let claims = verify_outcome(&outcome, &jwks).unwrap();
    assert_eq!(claims.status, RequestStatus::Confirmed);
    assert_eq!(claims.document.as_deref(), Some(ANA.0));
    assert_eq!(claims.aud, "aeat");
    assert_eq!(claims.iss, "ventanilla:O00012345");
    assert_eq!(claims.request_id, req.id);
    // A second confirmation is refused: final states are final.
    let again = device.confirm(&req.id, None).await.unwrap_err();
    assert_eq!(again.code(), Some("CM-REQ-002"));
}

#[tokio::test]
async fn no_qr_requests_need_number_matching() {
    let h = Harness::start().await;
    let device = h.activated(ANA.0).await;
    let req = h.service.create_no_qr(ANA.0, ANA.1).await.unwrap();
    assert!(req.sms_available_at.is_some());
    let pending = device.pending(0).await.unwrap();
    assert_eq!(pending.requests.len(), 1);
    let shown = &pending.requests[0];
    assert_eq!(shown.id, req.id);
    assert!(shown.code.is_none(), "the app must not be told the code");
    let choices = shown.choices.clone().unwrap();
    assert_eq!(choices.len(), 3);
    assert_eq!(choices.iter().collect::<HashSet<_>>().len(), 3);
    assert!(choices.contains(&req.code));
    // No code: refused (and the request stays pending).
    let e = device.confirm(&req.id, None).await.unwrap_err();
    assert_eq!(e.code(), Some("CM-REQ-006"));
    // A wrong pick rejects the request: no second guess.
    let wrong = choices.iter().find(|c| **c != req.code).unwrap();
    let e = device.confirm(&req.id, Some(wrong)).await.unwrap_err();
    assert_eq!(e.code(), Some("CM-REQ-004"));
    let outcome = h.service.wait_outcome(&req.id, 0).await.unwrap();
    assert_eq!(outcome.request.status, RequestStatus::Rejected);
    assert_eq!(outcome.request.reason, Some(Reason::CodeMismatch));
    let e = device.confirm(&req.id, Some(&req.code)).await.unwrap_err();
    assert_eq!(e.code(), Some("CM-REQ-002"));

    // The right pick confirms.
    let req = h.service.create_no_qr(ANA.0, "30/06/2031").await.unwrap();
    device.confirm(&req.id, Some(&req.code)).await.unwrap();
    let outcome = h.service.wait_outcome(&req.id, 0).await.unwrap();
    assert_eq!(outcome.request.status, RequestStatus::Confirmed);
    assert_eq!(outcome.request.request_type, RequestType::NoQr);
    let claims = verify_outcome(&outcome, &h.service.jwks().await.unwrap()).unwrap();
    assert_eq!(claims.document.as_deref(), Some(ANA.0));
}

#[tokio::test]
async fn requests_expire_after_five_minutes_of_the_injected_clock() {
    let h = Harness::start().await;
    let device = h.activated(ANA.0).await;
    let req = h.service.create_no_qr(ANA.0, ANA.1).await.unwrap();
    h.advance(299);
    h.sweep();
    assert_eq!(
        h.service.get(&req.id).await.unwrap().status,
        RequestStatus::Pending
    );
    assert_eq!(h.service.get(&req.id).await.unwrap().seconds_left, 1);
    h.advance(1);
    // Even before the sweeper writes it down, the device cannot confirm.
    let e = device.confirm(&req.id, Some(&req.code)).await.unwrap_err();
    assert_eq!(e.code(), Some("CM-REQ-002"));
    assert_eq!(
        e.problem().unwrap().request_status,
        Some(RequestStatus::Expired)
    );
    h.sweep();
    let outcome = h.service.wait_outcome(&req.id, 1).await.unwrap();
    assert!(outcome.is_final);
    assert_eq!(outcome.request.status, RequestStatus::Expired);
    assert_eq!(outcome.request.reason, Some(Reason::TimedOut));
    assert!(device.pending(0).await.unwrap().requests.is_empty());
}

#[tokio::test]
async fn verification_codes_are_unique_among_pending_requests() {
    let h = Harness::start().await;
    let mut codes = HashSet::new();
    for _ in 0..150 {
        let r = h.service.create_qr(None).await.unwrap();
        assert!(r.code.bytes().all(|b| b.is_ascii_digit()) && r.code.len() == 3);
        assert!(
            codes.insert(r.code),
            "duplicate code among pending requests"
        );
    }
    // A code is free again once its request is final.
    let r = h.other.create_qr(None).await.unwrap();
    h.other.cancel(&r.id).await.unwrap();
    assert_eq!(
        h.other.get(&r.id).await.unwrap().status,
        RequestStatus::Cancelled
    );
}

#[tokio::test]
async fn a_new_request_for_the_same_citizen_cancels_the_previous_one() {
    let h = Harness::start().await;
    let device = h.activated(BEA.0).await;
    let first = h.service.create_no_qr(BEA.0, BEA.1).await.unwrap();
    let second = h.other.create_no_qr(BEA.0, BEA.1).await.unwrap();
    let old = h.service.wait_outcome(&first.id, 0).await.unwrap();
    assert_eq!(old.request.status, RequestStatus::Cancelled);
    assert_eq!(old.request.reason, Some(Reason::Superseded));
    let pending = device.pending(0).await.unwrap();
    assert_eq!(pending.requests.len(), 1);
    assert_eq!(pending.requests[0].id, second.id);
    assert_eq!(pending.requests[0].body, OTHER_BODY);
    // A scanned QR request supersedes too.
    let qr = h.service.create_qr(None).await.unwrap();
    let frame = h.service.qr_frame(&qr.id).await.unwrap();
    device.scan(&frame.payload).await.unwrap();
    let replaced = h.other.wait_outcome(&second.id, 0).await.unwrap();
    assert_eq!(replaced.request.reason, Some(Reason::Superseded));
}

#[tokio::test]
async fn long_polls_wake_as_soon_as_something_happens() {
    let h = Harness::start().await;
    let device = h.activated(ANA.0).await;
    // The device waits for a request; the service creates one.
    let service = h.service.clone();
    let (pending, created) = tokio::join!(device.pending(20), async {
        tokio::time::sleep(Duration::from_millis(200)).await;
        service.create_no_qr(ANA.0, ANA.1).await.unwrap()
    });
    let pending = pending.unwrap();
    assert_eq!(pending.requests.len(), 1);
    assert_eq!(pending.requests[0].id, created.id);

    // The service waits for the outcome; the device confirms.
    let started = Instant::now();
    let (outcome, _) = tokio::join!(h.service.wait_outcome(&created.id, 20), async {
        tokio::time::sleep(Duration::from_millis(200)).await;
        device
            .confirm(&created.id, Some(&created.code))
            .await
            .unwrap()
    });
    let outcome = outcome.unwrap();
    assert!(outcome.is_final);
    assert_eq!(outcome.request.status, RequestStatus::Confirmed);
    assert!(started.elapsed() < Duration::from_secs(5));

    // Nothing happens: the long-poll answers after `wait` with the current state.
    let other = h.service.create_qr(None).await.unwrap();
    let t = Instant::now();
    let o = h.service.wait_outcome(&other.id, 1).await.unwrap();
    assert!(!o.is_final && o.signed.is_none());
    assert!(t.elapsed() >= Duration::from_millis(900));
}

#[tokio::test]
async fn server_sent_events_carry_status_qr_frames_and_the_outcome() {
    let h = Harness::start().await;
    let device = h.activated(ANA.0).await;
    let req = h.service.create_qr(None).await.unwrap();
    let mut events = h.service.events(&req.id, true).await.unwrap();
    let first = events.next().await.unwrap().unwrap();
    assert_eq!(first.event, "status");
    let second = events.next().await.unwrap().unwrap();
    assert_eq!(second.event, "qr");
    let frame: clave_movil::api::QrFrame = serde_json::from_str(&second.data).unwrap();
    // The next second, a new frame.
    h.advance(1);
    let third = events.next().await.unwrap().unwrap();
    assert_eq!(third.event, "qr");
    let next: clave_movil::api::QrFrame = serde_json::from_str(&third.data).unwrap();
    assert_eq!(next.elapsed, frame.elapsed + 1);
    assert_ne!(next.payload, frame.payload);
    device.scan(&next.payload).await.unwrap();
    device.confirm(&req.id, None).await.unwrap();
    let mut outcome = None;
    while let Some(e) = events.next().await {
        let e = e.unwrap();
        if e.event == "outcome" {
            outcome = Some(serde_json::from_str::<clave_movil::api::Outcome>(&e.data).unwrap());
        }
    }
    let outcome = outcome.expect("an outcome event");
    assert_eq!(outcome.request.status, RequestStatus::Confirmed);
    assert!(outcome.signed.is_some());
}

#[tokio::test]
async fn services_see_only_their_own_requests_and_can_cancel_them() {
    let h = Harness::start().await;
    let req = h.service.create_qr(None).await.unwrap();
    for e in [
        h.other.get(&req.id).await.unwrap_err(),
        h.other.cancel(&req.id).await.unwrap_err(),
        h.other.wait_outcome(&req.id, 0).await.unwrap_err(),
        h.other.qr_frame(&req.id).await.unwrap_err(),
    ] {
        assert_eq!(e.code(), Some("CM-REQ-001"));
    }
    // The office key may not create requests.
    assert_eq!(
        h.office.create_qr(None).await.unwrap_err().code(),
        Some("CM-AUTH-002")
    );
    let cancelled = h.service.cancel(&req.id).await.unwrap();
    assert_eq!(cancelled.status, RequestStatus::Cancelled);
    assert_eq!(cancelled.reason, Some(Reason::CancelledByService));
    let o = h.service.wait_outcome(&req.id, 0).await.unwrap();
    let claims = verify_outcome(&o, &h.service.jwks().await.unwrap()).unwrap();
    assert_eq!(claims.status, RequestStatus::Cancelled);
    assert!(claims.document.is_none());
    assert_eq!(
        h.service.cancel(&req.id).await.unwrap_err().code(),
        Some("CM-REQ-002")
    );
}

#[tokio::test]
async fn counter_requests_and_events_for_the_desktop_app() {
    let h = Harness::start().await;
    let device = h.activated(CARLOS.0).await;
    let engine = h.running.engine();
    let mut events = engine.subscribe();
    let req = engine
        .create_counter_request(2, "Oficina de registro O00012345")
        .await
        .unwrap();
    let ev = events.recv().await.unwrap();
    assert_eq!(ev.id, req.id);
    assert_eq!(ev.status, RequestStatus::Pending);
    assert_eq!(ev.counter, 2);
    let frame = engine.qr_frame(&req.id).unwrap();
    device.scan(&frame.payload).await.unwrap();
    let _claimed = events.recv().await.unwrap();
    device.confirm(&req.id, None).await.unwrap();
    let done = events.recv().await.unwrap();
    assert_eq!(done.status, RequestStatus::Confirmed);
    // The event carries no personal data.
    let text = serde_json::to_string(&done).unwrap();
    assert!(!text.contains(CARLOS.0) && !text.contains(CARLOS.2));
    let outcome = engine
        .counter_outcome(&req.id, Duration::from_secs(0))
        .await
        .unwrap();
    assert!(outcome.is_final);
    // Relying services cannot see counter requests.
    assert_eq!(
        h.service.get(&req.id).await.unwrap_err().code(),
        Some("CM-REQ-001")
    );
}

#[tokio::test]
async fn every_finished_request_for_a_citizen_is_in_the_audit_chain() {
    let h = Harness::start().await;
    let device = h.activated(ANA.0).await;
    // Confirmed in the app (no QR), superseded, rejected (QR), expired; and one for
    // nobody in particular (a QR request never scanned), which names no citizen.
    let confirmed = h.service.create_no_qr(ANA.0, ANA.1).await.unwrap();
    device
        .confirm(&confirmed.id, Some(&confirmed.code))
        .await
        .unwrap();
    let superseded = h.service.create_no_qr(ANA.0, ANA.1).await.unwrap();
    let qr = h.other.create_qr(None).await.unwrap();
    let frame = h.other.qr_frame(&qr.id).await.unwrap();
    device.scan(&frame.payload).await.unwrap();
    device.reject(&qr.id).await.unwrap();
    let expired = h.service.create_no_qr(ANA.0, ANA.1).await.unwrap();
    let nobody = h.service.create_qr(None).await.unwrap();
    h.service.cancel(&nobody.id).await.unwrap();
    h.advance(300);
    h.sweep();
    assert_eq!(
        h.service
            .wait_outcome(&expired.id, 1)
            .await
            .unwrap()
            .request
            .status,
        RequestStatus::Expired
    );

    let entries: Vec<_> = h
        .store
        .audit_entries()
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.action == "clave_movil_request_finished")
        .collect();
    let detail = |id: &str| -> serde_json::Value {
        let e = entries
            .iter()
            .find(|e| e.detail.contains(id))
            .unwrap_or_else(|| panic!("no audit entry for request {id}"));
        assert!(e.citizen_id.is_some());
        assert_eq!(e.actor, "clave-movil");
        serde_json::from_str(&e.detail).unwrap()
    };
    let c = detail(&confirmed.id);
    assert_eq!(c["status"], "confirmed");
    assert_eq!(c["completed_by"], "device");
    assert_eq!(c["kind"], "no_qr");
    assert_eq!(c["body"], BODY);
    assert_eq!(detail(&superseded.id)["reason"], "superseded");
    let r = detail(&qr.id);
    assert_eq!(
        (r["status"].as_str(), r["kind"].as_str()),
        (Some("rejected"), Some("qr"))
    );
    assert_eq!(r["body"], OTHER_BODY);
    assert_eq!(detail(&expired.id)["status"], "expired");
    assert_eq!(
        entries.len(),
        4,
        "one entry per finished request, none for nobody"
    );
    assert!(!entries.iter().any(|e| e.detail.contains(&nobody.id)));
    // Nothing a person typed or received is in the detail.
    for e in &entries {
        assert!(!e.detail.contains(ANA.0) && !e.detail.contains(ANA.2));
        let detail: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(&e.detail).unwrap();
        let keys: Vec<&String> = detail
            .keys()
            .filter(|k| ["code", "pin", "phone", "document", "decoys"].contains(&k.as_str()))
            .collect();
        assert!(keys.is_empty(), "{keys:?} in the audit detail");
    }
    // Batched appends keep the chain intact.
    assert!(h.store.verify_audit().await.unwrap().intact());
}
