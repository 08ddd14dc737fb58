//! Bad input: every refusal is a 4xx application/problem+json with a stable code,
//! never a 5xx.

use clave_movil::api::Problem;
use hyper::Method;

use crate::common::*;

fn auth() -> Vec<(String, String)> {
    vec![
        ("authorization".into(), format!("Bearer {SERVICE_KEY}")),
        ("content-type".into(), "application/json".into()),
    ]
}

async fn problem(
    h: &Harness,
    method: Method,
    path: &str,
    headers: &[(String, String)],
    body: &[u8],
) -> (u16, Problem) {
    let r =
        h.ep.raw(method, path, headers, body.to_vec())
            .await
            .unwrap();
    assert_eq!(
        r.headers.get("content-type").map(|v| v.to_str().unwrap()),
        Some("application/problem+json"),
        "{path}: {:?}",
        String::from_utf8_lossy(&r.body)
    );
    let p: Problem = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(p.status, r.status.as_u16());
    assert!(p.problem_type.ends_with(&p.code));
    (r.status.as_u16(), p)
}

#[tokio::test]
async fn malformed_bodies_are_clear_4xx_problems() {
    let h = Harness::start_with(|c| c.limits.free_failures = 1000).await;
    let cases: Vec<(&[u8], u16, &str)> = vec![
        (b"{", 400, "CM-001"),
        (b"not json", 400, "CM-001"),
        (b"[]", 422, "CM-002"),
        (b"{\"type\":\"qr\",\"colour\":\"red\"}", 422, "CM-002"),
        (b"{\"type\":\"sms\"}", 422, "CM-002"),
        (b"{\"type\":\"qr\",\"counter\":-1}", 422, "CM-002"),
        (b"{\"type\":\"qr\",\"counter\":70000}", 422, "CM-002"),
        (b"{\"type\":\"qr\",\"counter\":0}", 422, "CM-002"),
        (b"{\"type\":\"qr\",\"counter\":7.5}", 422, "CM-002"),
        (b"{\"type\":\"qr\",\"counter\":70000.0}", 422, "CM-002"),
        (b"{\"type\":\"qr\",\"counter\":\"7\"}", 422, "CM-002"),
        (b"{\"type\":\"qr\",\"counter\":true}", 422, "CM-002"),
        (b"{\"type\":\"no_qr\"}", 422, "CM-002"),
        (
            b"{\"type\":\"qr\",\"document\":\"12345678Z\"}",
            422,
            "CM-002",
        ),
        (
            b"{\"type\":\"no_qr\",\"document\":\"\\u0000\",\"contrast\":\"x\"}",
            422,
            "CM-012",
        ),
        (
            b"{\"type\":\"no_qr\",\"document\":\"12345678Z\",\"contrast\":\"31/02/2031\"}",
            422,
            "CM-012",
        ),
        (b"{}", 422, "CM-002"),
        (b"", 422, "CM-002"),
    ];
    for (body, status, code) in cases {
        let (s, p) = problem(&h, Method::POST, "/v1/requests", &auth(), body).await;
        assert_eq!(
            (s, p.code.as_str()),
            (status, code),
            "{}",
            String::from_utf8_lossy(body)
        );
    }
    // JSON does not tell 7 from 7.0: both are counter 7 (null is the default counter).
    for body in [
        &b"{\"type\":\"qr\",\"counter\":7.0}"[..],
        b"{\"type\":\"qr\",\"counter\":7}",
    ] {
        let r =
            h.ep.raw(Method::POST, "/v1/requests", &auth(), body.to_vec())
                .await
                .unwrap();
        assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
        let view: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(view["counter"], 7);
    }
    let r =
        h.ep.raw(
            Method::POST,
            "/v1/requests",
            &auth(),
            b"{\"type\":\"qr\",\"counter\":null}".to_vec(),
        )
        .await
        .unwrap();
    assert_eq!(r.status, 201);
    // Wrong media type.
    let mut text = auth();
    text[1].1 = "text/plain".into();
    let (s, p) = problem(
        &h,
        Method::POST,
        "/v1/requests",
        &text,
        b"{\"type\":\"qr\"}",
    )
    .await;
    assert_eq!((s, p.code.as_str()), (415, "CM-003"));
    // Too large.
    let big = format!(
        "{{\"type\":\"qr\",\"document\":\"{}\"}}",
        "1".repeat(20_000)
    );
    let (s, p) = problem(&h, Method::POST, "/v1/requests", &auth(), big.as_bytes()).await;
    assert_eq!((s, p.code.as_str()), (413, "CM-004"));
    // Long strings within the limit.
    let long = format!(
        "{{\"type\":\"no_qr\",\"document\":\"{}\",\"contrast\":\"x\"}}",
        "1".repeat(5_000)
    );
    let (s, _) = problem(&h, Method::POST, "/v1/requests", &auth(), long.as_bytes()).await;
    assert_eq!(s, 422);
}

#[tokio::test]
async fn unknown_routes_methods_ids_and_parameters() {
    let h = Harness::start_with(|c| c.limits.free_failures = 1000).await;
    let (s, p) = problem(&h, Method::GET, "/nope", &[], b"").await;
    assert_eq!((s, p.code.as_str()), (404, "CM-006"));
    let (s, p) = problem(&h, Method::DELETE, "/v1/requests", &auth(), b"").await;
    assert_eq!((s, p.code.as_str()), (405, "CM-007"));
    for id in [
        "x",
        "..%2F..",
        "00000000-0000-4000-8000-000000000000",
        "%ff%fe",
        &"a".repeat(300),
    ] {
        let (s, p) = problem(&h, Method::GET, &format!("/v1/requests/{id}"), &auth(), b"").await;
        assert_eq!((s, p.code.as_str()), (404, "CM-REQ-001"), "{id}");
    }
    let req = h.service.create_qr(None).await.unwrap();
    for q in [
        "wait=abc",
        "wait=-1",
        "wait=99999999999999999999",
        "colour=red",
        "wait=1&wait=2",
    ] {
        let (s, p) = problem(
            &h,
            Method::GET,
            &format!("/v1/requests/{}/outcome?{q}", req.id),
            &auth(),
            b"",
        )
        .await;
        assert_eq!((s, p.code.as_str()), (400, "CM-005"), "{q}");
    }
    let (s, p) = problem(
        &h,
        Method::GET,
        &format!("/v1/requests/{}/qr?format=gif", req.id),
        &auth(),
        b"",
    )
    .await;
    assert_eq!((s, p.code.as_str()), (400, "CM-005"));
    // No key, bad key.
    let (s, p) = problem(
        &h,
        Method::GET,
        &format!("/v1/requests/{}", req.id),
        &[],
        b"",
    )
    .await;
    assert_eq!((s, p.code.as_str()), (401, "CM-AUTH-001"));
    let bad = vec![("authorization".to_owned(), "Basic Zm9vOmJhcg==".to_owned())];
    let (s, _) = problem(
        &h,
        Method::GET,
        &format!("/v1/requests/{}", req.id),
        &bad,
        b"",
    )
    .await;
    assert_eq!(s, 401);
    // Device endpoints without a signature; with garbage signature headers.
    let (s, p) = problem(&h, Method::GET, "/v1/device/requests/pending", &[], b"").await;
    assert_eq!((s, p.code.as_str()), (401, "CM-AUTH-003"));
    let junk = vec![
        ("x-clave-device".to_owned(), "zzz".to_owned()),
        ("x-clave-timestamp".to_owned(), "1".to_owned()),
        ("x-clave-nonce".to_owned(), "%%%".to_owned()),
        ("x-clave-signature".to_owned(), "AAAA".to_owned()),
    ];
    let (s, _) = problem(&h, Method::POST, "/v1/device/scan", &junk, b"{}").await;
    assert_eq!(s, 401);
    // Activation with a bogus key.
    let d = h.device();
    let r = d
        .signed(
            Method::POST,
            "/v1/activations/qr",
            br#"{"payload":"x","public_key":"AAAA"}"#.to_vec(),
        )
        .await
        .unwrap();
    assert_eq!(r.status, 422);
}

#[tokio::test]
async fn the_openapi_document_lists_every_endpoint() {
    let h = Harness::start().await;
    let r =
        h.ep.raw(Method::GET, "/openapi.json", &[], Vec::new())
            .await
            .unwrap();
    assert_eq!(r.status, 200);
    let doc: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let paths = doc["paths"].as_object().unwrap();
    for p in [
        "/v1/requests",
        "/v1/requests/{id}",
        "/v1/requests/{id}/outcome",
        "/v1/requests/{id}/events",
        "/v1/requests/{id}/qr",
        "/v1/requests/{id}/cancel",
        "/v1/requests/{id}/sms",
        "/v1/requests/{id}/sms/verify",
        "/v1/office/activations",
        "/v1/office/alerts",
        "/v1/activations",
        "/v1/activations/{id}/complete",
        "/v1/activations/qr",
        "/v1/device/requests/pending",
        "/v1/device/scan",
        "/v1/device/requests/{id}",
        "/v1/device/requests/{id}/confirm",
        "/v1/device/requests/{id}/reject",
        "/v1/device/requests/{id}/not-me",
        "/v1/device/history",
        "/v1/device/sign-out",
        "/.well-known/clave-movil/jwks.json",
        "/openapi.json",
        "/healthz",
    ] {
        assert!(paths.contains_key(p), "{p} is not documented");
    }
    assert_eq!(paths.len(), 24);
    let create = &doc["paths"]["/v1/requests"]["post"]["responses"];
    for status in ["201", "400", "401", "413", "415", "422", "429"] {
        assert!(
            create.get(status).is_some(),
            "POST /v1/requests lacks {status}"
        );
    }
    assert!(doc["components"]["securitySchemes"]["device_signature"].is_object());

    // Links lead from the call that creates an id to the calls that use it, and each
    // names a real operation and one of its parameters.
    let operations: Vec<&serde_json::Value> = paths
        .values()
        .flat_map(|item| item.as_object().unwrap().values())
        .filter(|op| op.get("responses").is_some())
        .collect();
    let by_id = |id: &str| {
        operations
            .iter()
            .find(|op| op["operationId"] == id)
            .unwrap_or_else(|| panic!("a link names {id}, which is no operation"))
    };
    let mut links = 0;
    for op in &operations {
        for response in op["responses"].as_object().unwrap().values() {
            let Some(found) = response.get("links").and_then(|l| l.as_object()) else {
                continue;
            };
            for link in found.values() {
                let target = by_id(link["operationId"].as_str().unwrap());
                for name in link["parameters"].as_object().unwrap().keys() {
                    assert!(
                        target["parameters"]
                            .as_array()
                            .is_some_and(|ps| ps.iter().any(|p| p["name"] == name.as_str())),
                        "{} has no parameter {name}",
                        target["operationId"]
                    );
                }
                links += 1;
            }
        }
    }
    assert_eq!(
        links, 8,
        "7 from a created request, 1 from a started activation"
    );
    assert_eq!(
        create["201"]["links"]["outcome"]["parameters"]["id"],
        "$response.body#/id"
    );
    // A new request has two exact shapes (the bodies the endpoint refuses for mixing
    // them are in `malformed_bodies_are_clear_4xx_problems`).
    let shapes = &doc["components"]["schemas"]["CreateRequest"]["oneOf"];
    assert_eq!(shapes[0]["properties"]["type"]["const"], "qr");
    assert_eq!(shapes[0]["required"], serde_json::json!(["type"]));
    assert!(shapes[0]["properties"].get("document").is_none());
    assert_eq!(shapes[1]["properties"]["type"]["const"], "no_qr");
    assert_eq!(
        shapes[1]["required"],
        serde_json::json!(["type", "document", "contrast"])
    );
    assert_eq!(shapes[1]["properties"]["document"]["type"], "string");
    assert!(
        shapes[1]["properties"]["document"]["pattern"].is_string(),
        "the derived pattern is kept"
    );
    for shape in shapes.as_array().unwrap() {
        assert_eq!(shape["additionalProperties"], false);
    }
    // Each server-sent event is documented (OpenAPI 3.1: the stream's schema is one event's).
    let sse = &doc["paths"]["/v1/requests/{id}/events"]["get"]["responses"]["200"]["content"]["text/event-stream"]
        ["schema"]["$ref"];
    assert_eq!(sse, "#/components/schemas/RequestEvent");
    assert_eq!(
        doc["components"]["schemas"]["RequestEventKind"]["enum"],
        serde_json::json!(["status", "outcome", "qr"])
    );
    let health =
        h.ep.raw(Method::GET, "/healthz", &[], Vec::new())
            .await
            .unwrap();
    assert_eq!(health.status, 200);
}
