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
