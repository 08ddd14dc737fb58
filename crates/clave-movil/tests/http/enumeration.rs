//! Enumeration resistance: a wrong or unknown DNI/NIE + contrast pair gets exactly the
//! answer a registered one gets (status, fields, shape), and nothing goes out.

use clave_movil::api::RequestView;
use serde_json::Value;

use crate::common::*;

/// The answer with what differs per request by nature (id, code, times) blanked.
fn shape(v: &RequestView) -> Value {
    let mut j = serde_json::to_value(v).unwrap();
    for k in ["id", "code"] {
        j[k] = Value::String("*".into());
    }
    j
}

#[tokio::test]
async fn no_qr_requests_answer_the_same_for_anyone() {
    let h = Harness::start().await;
    let _device = h.activated(ANA.0).await;
    let known = h.service.create_no_qr(ANA.0, ANA.1).await.unwrap();
    let wrong_contrast = h.service.create_no_qr(ANA.0, "2031-07-01").await.unwrap();
    let unknown = h
        .service
        .create_no_qr("87654321X", "2031-06-30")
        .await
        .unwrap();
    let wrong_kind = h.service.create_no_qr(CARLOS.0, "E99999999").await.unwrap();
    assert_eq!(shape(&known), shape(&wrong_contrast));
    assert_eq!(shape(&known), shape(&unknown));
    assert_eq!(shape(&known), shape(&wrong_kind));
    // Later steps look the same too: SMS "sent", PIN wrong, expiry.
    h.advance(60);
    let a = h.service.request_sms(&known.id).await.unwrap();
    let b = h.service.request_sms(&unknown.id).await.unwrap();
    assert_eq!(a, b);
    let ea = h.service.verify_pin(&known.id, "000001").await.unwrap_err();
    let eb = h
        .service
        .verify_pin(&unknown.id, "000001")
        .await
        .unwrap_err();
    assert_eq!(ea.problem(), eb.problem());
    // Only the registered citizen got an SMS.
    assert!(h.sms_to(ANA.2).await.is_some());
    assert_eq!(h.outbox_len().await, 1);
    // Format errors are format errors (they reveal nothing about registration).
    let e = h
        .service
        .create_no_qr("12345678A", "2031-06-30")
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("CM-012"));
    assert_eq!(e.problem().unwrap().inner.as_deref(), Some("DOC-004"));
    let e = h
        .service
        .create_no_qr(CARLOS.0, "2031-06-30")
        .await
        .unwrap_err();
    assert_eq!(e.problem().unwrap().inner.as_deref(), Some("CTR-010"));
}

#[tokio::test]
async fn activation_answers_the_same_for_anyone() {
    let h = Harness::start().await;
    let r = |v: clave_movil::api::ActivationStarted| {
        let mut j = serde_json::to_value(v).unwrap();
        j["activation_id"] = Value::String("*".into());
        j
    };
    let d = h.device();
    let known = r(d.start_activation(BEA.0, BEA.1).await.unwrap());
    let wrong = r(d.start_activation(BEA.0, "2030-01-01").await.unwrap());
    let unknown = r(d.start_activation("87654321X", "2030-01-01").await.unwrap());
    assert_eq!(known, wrong);
    assert_eq!(known, unknown);
    // Completing an unknown one fails exactly like a wrong code.
    let mut d = h.device();
    let fake = d.start_activation("87654321X", "2030-01-01").await.unwrap();
    let e = d
        .complete_activation(&fake.activation_id, "123456")
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("CM-ACT-002"));
    assert_eq!(e.problem().unwrap().tries_left, Some(2));
    assert_eq!(h.outbox_len().await, 1);
}
