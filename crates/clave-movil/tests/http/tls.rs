//! TLS: a self-signed certificate on first run, pinned by the QR codes; plain HTTP only
//! on loopback.

use std::sync::Arc;

use clave_movil::client::{Endpoint, ServiceClient};
use clave_movil::domain::QrPayload;
use clave_movil::{ClaveMovil, Config, ConfigError, StartError};

use crate::common::*;

#[tokio::test]
async fn tls_endpoint_is_pinned_by_its_qr_codes() {
    let h = Harness::start_with(|c| c.tls = true).await;
    assert!(h.running.base_url.starts_with("https://127.0.0.1:"));
    let pin = h.running.tls_pin.clone().unwrap();
    // The whole flow over TLS, the device trusting only the pin from the QR.
    let req = h.service.create_qr(None).await.unwrap();
    let frame = h.service.qr_frame(&req.id).await.unwrap();
    let payload = QrPayload::parse(&frame.payload).unwrap();
    assert_eq!(payload.pin(), pin);
    assert_eq!(payload.endpoint(), h.running.base_url);
    let from_qr = Endpoint::for_payload(&frame.payload).unwrap();
    let qr = h.office.activation_qr(ANA.0).await.unwrap();
    let mut device = clave_movil::client::DeviceClient::new(
        from_qr,
        clave_movil::client::DeviceKey::generate(&registry::OsRandom),
        Arc::new(h.clock.clone()),
        Arc::new(registry::OsRandom),
    );
    device.activate_with_qr(&qr.payload).await.unwrap();
    device.scan(&frame.payload).await.unwrap();
    device.confirm(&req.id, None).await.unwrap();
    assert!(h.service.wait_outcome(&req.id, 0).await.unwrap().is_final);

    // Another key's pin: the connection is refused.
    let wrong = Endpoint::pinned(
        &h.running.base_url,
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    )
    .unwrap();
    let e = ServiceClient::new(wrong, SERVICE_KEY)
        .create_qr(None)
        .await
        .unwrap_err();
    assert!(matches!(e, clave_movil::client::ClientError::Net(_)), "{e}");
    // Plain HTTP to the TLS port does not work either.
    let plain = Endpoint::plain(&h.running.base_url.replace("https", "http")).unwrap();
    assert!(
        ServiceClient::new(plain, SERVICE_KEY)
            .create_qr(None)
            .await
            .is_err()
    );
    // The certificate is kept: same pin after a restart on the same data dir.
    let dir = h.dir.path().to_path_buf();
    let mut config = Config::loopback(dir.clone());
    config.tls = true;
    let again = ClaveMovil::start(
        config,
        h.store.clone(),
        Arc::new(h.clock.clone()),
        Arc::new(registry::OsRandom),
    )
    .await
    .unwrap();
    assert_eq!(again.tls_pin.as_deref(), Some(pin.as_str()));
    again.shutdown().await;
}

#[tokio::test]
async fn plain_http_is_refused_off_loopback() {
    let dir = tempfile::tempdir().unwrap();
    let store = store::Store::open_in_dir(dir.path()).await.unwrap();
    let mut config = Config::loopback(dir.path().to_path_buf());
    config.listen = "0.0.0.0:0".parse().unwrap();
    let e = ClaveMovil::start(
        config,
        store,
        Arc::new(clock()),
        Arc::new(registry::OsRandom),
    )
    .await
    .unwrap_err();
    assert!(matches!(
        e,
        StartError::Config(ConfigError::PlainHttpOffLoopback)
    ));
}

#[tokio::test]
async fn state_survives_a_restart() {
    let h = Harness::start().await;
    let device = h.activated(ANA.0).await;
    let req = h.service.create_no_qr(ANA.0, ANA.1).await.unwrap();
    let device_id = device.device_id().unwrap().to_owned();
    let key = device.key().to_pkcs8_der().to_vec();
    let Harness {
        running,
        store,
        clock,
        dir,
        ..
    } = h;
    running.shutdown().await;
    let mut config = Config::loopback(dir.path().to_path_buf());
    config.api_keys = keys();
    let again = ClaveMovil::start(
        config,
        store,
        Arc::new(clock.clone()),
        Arc::new(registry::OsRandom),
    )
    .await
    .unwrap();
    let ep = Endpoint::plain(&again.base_url).unwrap();
    let device = clave_movil::client::DeviceClient::new(
        ep.clone(),
        clave_movil::client::DeviceKey::from_pkcs8_der(&key).unwrap(),
        Arc::new(clock.clone()),
        Arc::new(registry::OsRandom),
    )
    .with_device_id(&device_id);
    let pending = device.pending(0).await.unwrap();
    assert_eq!(pending.requests.len(), 1);
    assert_eq!(pending.requests[0].id, req.id);
    device.confirm(&req.id, Some(&req.code)).await.unwrap();
    let service = ServiceClient::new(ep, SERVICE_KEY);
    assert!(service.wait_outcome(&req.id, 0).await.unwrap().is_final);
    again.shutdown().await;
}
