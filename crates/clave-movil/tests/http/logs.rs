//! No DNI/NIE, phone number, code or PIN in any log line.

use std::io::Write;
use std::sync::{Arc, Mutex};

use crate::common::*;

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn logs_hold_no_personal_data_or_secrets() {
    let capture = Capture::default();
    let writer = capture.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let h = Harness::start().await;
    let mut device = h.device();
    let started = device.start_activation(ANA.0, ANA.1).await.unwrap();
    let code = clave_movil::sms::code_in(&h.sms_to(ANA.2).await.unwrap()).unwrap();
    device
        .complete_activation(&started.activation_id, &code)
        .await
        .unwrap();
    let req = h.service.create_no_qr(ANA.0, ANA.1).await.unwrap();
    h.advance(60);
    h.service.request_sms(&req.id).await.unwrap();
    let pin = h.code_sent(ANA.2, 2).await;
    let _ = h.service.verify_pin(&req.id, "000000").await;
    h.service.verify_pin(&req.id, &pin).await.unwrap();
    device.not_me(&req.id).await.unwrap();
    let bad = h.service.create_no_qr("12345678A", "2031-06-30").await;
    assert!(bad.is_err());

    let text = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    assert!(text.contains("SMS sent"), "logging works: {text}");
    for secret in [
        ANA.0,
        "12345678",
        ANA.1,
        ANA.2,
        "+34612345678",
        code.as_str(),
        pin.as_str(),
        "12345678A",
    ] {
        assert!(!text.contains(secret), "{secret} leaked into the logs");
    }
}
