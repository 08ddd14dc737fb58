//! A small HTTP/1.1 client (hyper + rustls) used by the `http` SMS gateway and by
//! [`crate::client`]: plain HTTP, HTTPS with the web PKI, or HTTPS pinned to one
//! public key (what the Cl@ve app does with the pin from the QR).

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{HeaderMap, Method, StatusCode};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

use crate::tls::{PinVerifier, TlsError};

/// How the client trusts servers.
#[derive(Debug, Clone)]
pub enum Trust {
    /// The web PKI (Mozilla's roots): real SMS gateways.
    WebPki,
    /// Exactly the key with this SPKI SHA-256 pin (base64url).
    Pinned(String),
}

/// An answer.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NetError {
    #[error("bad URL or request: {0}")]
    Request(String),
    #[error("connection failed: {0}")]
    Connect(String),
    #[error("timed out")]
    Timeout,
    #[error("TLS: {0}")]
    Tls(#[from] TlsError),
}

type Inner = Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>;

/// Cheap to clone; keeps connections alive and reuses them.
#[derive(Clone, Debug)]
pub struct HttpClient {
    inner: Inner,
    timeout: Duration,
}

impl HttpClient {
    pub fn new(trust: Trust, timeout: Duration) -> Result<HttpClient, NetError> {
        let tls = match trust {
            Trust::Pinned(pin) => PinVerifier::client_config(&pin)?,
            Trust::WebPki => {
                let mut roots = rustls::RootCertStore::empty();
                roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
                rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
                    rustls::crypto::ring::default_provider(),
                ))
                .with_safe_default_protocol_versions()
                .map_err(TlsError::from)?
                .with_root_certificates(roots)
                .with_no_client_auth()
            }
        };
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_nodelay(true);
        http.set_connect_timeout(Some(timeout));
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        let inner = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(30))
            .pool_max_idle_per_host(256)
            .build(connector);
        Ok(HttpClient { inner, timeout })
    }

    /// Sends one request and reads the whole answer.
    pub async fn send(
        &self,
        method: Method,
        url: &str,
        headers: &[(String, String)],
        body: Vec<u8>,
    ) -> Result<Response, NetError> {
        let mut builder = hyper::Request::builder().method(method).uri(url);
        for (k, v) in headers {
            builder = builder.header(k.as_str(), v.as_str());
        }
        let request = builder
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| NetError::Request(e.to_string()))?;
        let fut = async {
            let response = self
                .inner
                .request(request)
                .await
                .map_err(|e| NetError::Connect(format!("{e:?}")))?;
            let (parts, body) = response.into_parts();
            let body = body
                .collect()
                .await
                .map_err(|e| NetError::Connect(e.to_string()))?
                .to_bytes();
            Ok(Response {
                status: parts.status,
                headers: parts.headers,
                body,
            })
        };
        tokio::time::timeout(self.timeout, fut)
            .await
            .map_err(|_| NetError::Timeout)?
    }

    /// Sends a request and gives back the streaming body (server-sent events).
    pub async fn stream(
        &self,
        method: Method,
        url: &str,
        headers: &[(String, String)],
    ) -> Result<(StatusCode, hyper::body::Incoming), NetError> {
        let mut builder = hyper::Request::builder().method(method).uri(url);
        for (k, v) in headers {
            builder = builder.header(k.as_str(), v.as_str());
        }
        let request = builder
            .body(Full::new(Bytes::new()))
            .map_err(|e| NetError::Request(e.to_string()))?;
        let response = tokio::time::timeout(self.timeout, self.inner.request(request))
            .await
            .map_err(|_| NetError::Timeout)?
            .map_err(|e| NetError::Connect(format!("{e:?}")))?;
        let status = response.status();
        Ok((status, response.into_body()))
    }
}
