//! Abuse limits: escalating delays per client address and per DNI/NIE, never a
//! permanent lockout.

use crate::common::*;
use clave_movil::client::ServiceClient;

#[tokio::test]
async fn failures_from_an_address_slow_it_down_then_it_recovers() {
    let h = Harness::start().await;
    let intruder = ServiceClient::new(h.ep.clone(), "not-a-key");
    for _ in 0..5 {
        assert_eq!(
            intruder.create_qr(None).await.unwrap_err().code(),
            Some("CM-AUTH-001")
        );
    }
    // The sixth failure starts a waiting period: 2 s, then 4 s, ...
    assert_eq!(
        intruder.create_qr(None).await.unwrap_err().code(),
        Some("CM-AUTH-001")
    );
    let e = intruder.create_qr(None).await.unwrap_err();
    assert_eq!(e.code(), Some("CM-009"));
    assert_eq!(e.problem().unwrap().retry_after, Some(2));
    // It applies to everything from that address (here: the tests' own, 127.0.0.1).
    assert_eq!(
        h.service.create_qr(None).await.unwrap_err().code(),
        Some("CM-009")
    );
    h.advance(2);
    assert!(h.service.create_qr(None).await.is_ok());
    assert_eq!(
        intruder.create_qr(None).await.unwrap_err().code(),
        Some("CM-AUTH-001")
    );
    assert_eq!(
        intruder
            .create_qr(None)
            .await
            .unwrap_err()
            .problem()
            .unwrap()
            .retry_after,
        Some(4)
    );
    // Quiet for 15 minutes: forgotten.
    h.advance(15 * 60);
    assert!(h.service.create_qr(None).await.is_ok());
}

/// The status and problem code of a call that brings no credentials.
async fn bare(h: &Harness, method: hyper::Method, path: &str) -> (u16, String) {
    let json = [("content-type".to_owned(), "application/json".to_owned())];
    let r = h.ep.raw(method, path, &json, b"{}".to_vec()).await.unwrap();
    let p: clave_movil::api::Problem = serde_json::from_slice(&r.body).unwrap();
    (r.status.as_u16(), p.code)
}

#[tokio::test]
async fn calls_without_credentials_get_401_and_never_slow_the_address() {
    use hyper::Method;
    let h = Harness::start().await;
    let pending = "/v1/device/requests/pending";
    // Many calls with no key or signature at all: each a plain 401, none counted.
    for _ in 0..20 {
        assert_eq!(
            bare(&h, Method::POST, "/v1/requests").await,
            (401, "CM-AUTH-001".into())
        );
        assert_eq!(bare(&h, Method::GET, pending).await.0, 401);
    }
    assert!(h.service.create_qr(None).await.is_ok(), "not slowed down");

    // Wrong keys are guesses: they start a waiting period for the address...
    let intruder = ServiceClient::new(h.ep.clone(), "not-a-key");
    for _ in 0..6 {
        let _ = intruder.create_qr(None).await;
    }
    assert_eq!(
        intruder.create_qr(None).await.unwrap_err().code(),
        Some("CM-009")
    );
    // ...during which a call without credentials still learns it needs them,
    assert_eq!(
        bare(&h, Method::POST, "/v1/requests").await,
        (401, "CM-AUTH-001".into())
    );
    assert_eq!(bare(&h, Method::GET, pending).await.0, 401);
    // while starting an activation, which needs none, waits like everything else.
    let d = h.device();
    assert_eq!(
        d.start_activation(ANA.0, ANA.1).await.unwrap_err().code(),
        Some("CM-009")
    );
}

#[tokio::test]
async fn lookups_of_one_document_are_rate_limited_temporarily() {
    let h = Harness::start_with(|c| {
        c.limits.document_burst = 3;
        c.limits.document_per_hour = 60;
    })
    .await;
    for _ in 0..3 {
        h.service.create_no_qr(ANA.0, "2031-01-01").await.unwrap();
    }
    let e = h
        .service
        .create_no_qr(ANA.0, "2031-01-01")
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("CM-009"));
    let wait = e.problem().unwrap().retry_after.unwrap();
    assert!(wait <= 60, "one token back per minute: {wait}");
    // Another document is not affected; the same document works again later.
    h.service.create_no_qr(BEA.0, BEA.1).await.unwrap();
    h.advance(wait);
    h.service.create_no_qr(ANA.0, ANA.1).await.unwrap();
}

#[tokio::test]
async fn activation_starts_are_limited_per_address() {
    let h = Harness::start_with(|c| {
        c.limits.address_burst = 2;
        c.limits.address_per_hour = 3600;
        c.policy.sms_per_hour = 100;
    })
    .await;
    let d = h.device();
    d.start_activation(ANA.0, ANA.1).await.unwrap();
    d.start_activation(BEA.0, BEA.1).await.unwrap();
    let e = d.start_activation(CARLOS.0, CARLOS.1).await.unwrap_err();
    assert_eq!(e.code(), Some("CM-009"));
    h.advance(1);
    d.start_activation(CARLOS.0, CARLOS.1).await.unwrap();
}

#[tokio::test]
async fn wrong_pins_slow_down_the_document() {
    let h = Harness::start_with(|c| c.limits.free_failures = 2).await;
    // Wrong PINs on three requests (each new request supersedes the last).
    for round in 0..3 {
        if round > 0 {
            h.advance(31);
        }
        let req = h.service.create_no_qr(BEA.0, BEA.1).await.unwrap();
        h.advance(60);
        h.service.request_sms(&req.id).await.unwrap();
        let _ = h.service.verify_pin(&req.id, "000000").await;
    }
    // The document is now waiting (the address too, since it is the same client).
    let e = h.service.create_no_qr(BEA.0, BEA.1).await.unwrap_err();
    assert_eq!(e.code(), Some("CM-009"));
    h.advance(300);
    h.service.create_no_qr(BEA.0, BEA.1).await.unwrap();
}
