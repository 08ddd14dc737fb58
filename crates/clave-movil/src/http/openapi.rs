//! The OpenAPI document: generated from the code (utoipa), then completed where
//! utoipa cannot say it: links between operations, and the two shapes of a new request.

use serde_json::{Value, json};
use utoipa::OpenApi;

use super::handlers;

/// The document served at `/openapi.json`.
pub fn document() -> Value {
    let mut doc = serde_json::to_value(handlers::ApiDoc::openapi()).unwrap_or_default();
    add_links(&mut doc);
    split_create_request(&mut doc);
    doc
}

/// OpenAPI links: where the id a call returns is used next, so clients (and API fuzzers'
/// stateful runs) can follow a request or an activation through its life. Added to the
/// JSON because utoipa 5.5 serialises its `Link` with snake_case field names
/// (`operation_id`), which OpenAPI readers ignore.
fn add_links(doc: &mut Value) {
    // (operation that creates, its success status, the id's JSON pointer in its body,
    // operations that take that id as `{id}`).
    const FOLLOW: [(&str, &str, &str, &[&str]); 2] = [
        (
            "create_request",
            "201",
            "/id",
            &[
                "get_request",
                "outcome",
                "events",
                "qr",
                "cancel",
                "request_sms",
                "verify_pin",
            ],
        ),
        (
            "start_activation",
            "202",
            "/activation_id",
            &["complete_activation"],
        ),
    ];
    let Some(paths) = doc.get_mut("paths").and_then(|p| p.as_object_mut()) else {
        return;
    };
    for operation in paths
        .values_mut()
        .filter_map(|item| item.as_object_mut())
        .flat_map(|item| item.values_mut())
    {
        let Some((_, status, pointer, targets)) = FOLLOW
            .iter()
            .find(|(id, ..)| operation["operationId"] == *id)
        else {
            continue;
        };
        let links: serde_json::Map<String, Value> = targets
            .iter()
            .map(|target| {
                let link = json!({
                    "operationId": target,
                    "parameters": { "id": format!("$response.body#{pointer}") },
                });
                ((*target).to_owned(), link)
            })
            .collect();
        if let Some(response) = operation
            .pointer_mut(&format!("/responses/{status}"))
            .and_then(|r| r.as_object_mut())
        {
            response.insert("links".to_owned(), links.into());
        }
    }
}

/// `CreateRequest` as two exact shapes: `qr` takes only `counter`; `no_qr` also
/// requires `document` and `contrast`. The struct has all three fields optional, so the
/// derived schema would call `{"type":"no_qr"}` valid, which the endpoint refuses (and
/// which API fuzzers then report). Built from the derived properties, so descriptions
/// and patterns stay where the struct declares them.
fn split_create_request(doc: &mut Value) {
    let Some(schema) = doc.pointer_mut("/components/schemas/CreateRequest") else {
        return;
    };
    let properties = schema["properties"].clone();
    let not_null = |name: &str| {
        let mut p = properties[name].clone();
        p["type"] = json!("string");
        p
    };
    let kind =
        |value: &str, description: &str| json!({ "const": value, "description": description });
    let qr = json!({
        "title": "qr",
        "type": "object",
        "additionalProperties": false,
        "required": ["type"],
        "properties": {
            "type": kind("qr", "The citizen scans the QR on the counter screen."),
            "counter": properties["counter"],
        },
    });
    let no_qr = json!({
        "title": "no_qr",
        "type": "object",
        "additionalProperties": false,
        "required": ["type", "document", "contrast"],
        "properties": {
            "type": kind("no_qr", "The citizen gave their DNI/NIE and contrast datum."),
            "document": not_null("document"),
            "contrast": not_null("contrast"),
            "counter": properties["counter"],
        },
    });
    *schema = json!({
        "description": schema["description"],
        "oneOf": [qr, no_qr],
    });
}
