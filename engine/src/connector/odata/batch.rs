//! `$batch`: many writes in one request, each answered on its own, sent with
//! `Prefer: odata.continue-on-error` and outside any change set, so one refused record
//! does not fail or roll back its neighbours. Two dialects: Dataverse takes the
//! multipart form (`multipart/mixed`, each part an HTTP request with an absolute URL);
//! Business Central and other OData 4.01 services the JSON form (`{"requests": […]}`).

use serde_json::{Map, Value as Json, json};

/// How a service takes a `$batch`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Dialect {
    /// `multipart/mixed`.
    Multipart,
    /// OData 4.01 JSON batch.
    Json,
}

/// One request inside a batch.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Call {
    /// `POST`, `PATCH`, `DELETE`.
    pub(super) method: &'static str,
    /// The resource, relative to the service root (`accounts(…)`).
    pub(super) path: String,
    /// Headers beyond the content type.
    pub(super) headers: Vec<(&'static str, String)>,
    /// The JSON body, if any.
    pub(super) body: Option<Json>,
}

/// What the service answered one request of a batch.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Reply {
    /// The HTTP status.
    pub(super) status: u16,
    /// The JSON body, if one came.
    pub(super) body: Option<Json>,
}

/// The boundary of a multipart batch: text no JSON body of ours holds at a line's start.
const BOUNDARY: &str = "batch_coupler_5c1e0b2a";

/// The content type and body of a batch of `calls`, for a service at `root`.
pub(super) fn encode(dialect: Dialect, root: &str, calls: &[Call]) -> (String, Vec<u8>) {
    match dialect {
        Dialect::Json => {
            let requests: Vec<Json> = calls
                .iter()
                .enumerate()
                .map(|(i, call)| {
                    let mut headers = Map::new();
                    if call.body.is_some() {
                        headers.insert("content-type".into(), "application/json".into());
                    }
                    for (name, value) in &call.headers {
                        headers.insert(name.to_lowercase(), Json::String(value.clone()));
                    }
                    let mut request = json!({
                        "id": (i + 1).to_string(),
                        "method": call.method,
                        "url": call.path,
                        "headers": headers,
                    });
                    if let Some(body) = &call.body {
                        request["body"] = body.clone();
                    }
                    request
                })
                .collect();
            (
                "application/json".to_string(),
                json!({ "requests": requests }).to_string().into_bytes(),
            )
        }
        Dialect::Multipart => {
            let mut out = String::new();
            for (i, call) in calls.iter().enumerate() {
                out.push_str(&format!(
                    "--{BOUNDARY}\r\nContent-Type: application/http\r\n\
                     Content-Transfer-Encoding: binary\r\nContent-ID: {}\r\n\r\n\
                     {} {root}{} HTTP/1.1\r\n",
                    i + 1,
                    call.method,
                    call.path
                ));
                if call.body.is_some() {
                    out.push_str("Content-Type: application/json\r\n");
                }
                for (name, value) in &call.headers {
                    out.push_str(&format!("{name}: {value}\r\n"));
                }
                out.push_str("\r\n");
                if let Some(body) = &call.body {
                    out.push_str(&body.to_string());
                }
                out.push_str("\r\n");
            }
            out.push_str(&format!("--{BOUNDARY}--\r\n"));
            (
                format!("multipart/mixed; boundary={BOUNDARY}"),
                out.into_bytes(),
            )
        }
    }
}

/// The replies of a batch answered with `content_type` and `body`, in the order of the
/// calls; or why they cannot be read.
pub(super) fn decode(content_type: &str, body: &[u8]) -> Result<Vec<Reply>, String> {
    let text = String::from_utf8_lossy(body);
    if content_type.starts_with("application/json") {
        let answer: Json =
            serde_json::from_str(&text).map_err(|e| format!("the batch answer is no JSON: {e}"))?;
        let mut replies: Vec<(usize, Reply)> = answer["responses"]
            .as_array()
            .ok_or("the batch answer has no responses")?
            .iter()
            .map(|r| {
                let id = r["id"].as_str().and_then(|id| id.parse().ok()).unwrap_or(0);
                let reply = Reply {
                    status: r["status"].as_u64().unwrap_or(0) as u16,
                    body: r.get("body").cloned().filter(|b| !b.is_null()),
                };
                (id, reply)
            })
            .collect();
        replies.sort_by_key(|(id, _)| *id);
        return Ok(replies.into_iter().map(|(_, r)| r).collect());
    }
    let boundary = content_type
        .split(';')
        .find_map(|p| p.trim().strip_prefix("boundary="))
        .map(|b| b.trim_matches('"'))
        .ok_or("the batch answer names no boundary")?;
    let delimiter = format!("--{boundary}");
    let mut replies = Vec::new();
    for part in text.split(&delimiter).skip(1) {
        if part.starts_with("--") {
            break;
        }
        // The part's own headers, then the HTTP response: status line, headers, body.
        let response = part
            .split_once("\r\n\r\n")
            .map(|(_, rest)| rest)
            .ok_or("a part of the batch answer is cut short")?;
        let (head, body) = response.split_once("\r\n\r\n").unwrap_or((response, ""));
        let status = head
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or("a part of the batch answer has no status")?;
        let body = body.trim_end_matches("\r\n").trim();
        replies.push(Reply {
            status,
            body: serde_json::from_str(body).ok(),
        });
    }
    Ok(replies)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn calls() -> Vec<Call> {
        vec![
            Call {
                method: "POST",
                path: "accounts".into(),
                headers: vec![("Prefer", "return=representation".into())],
                body: Some(json!({"name": "A"})),
            },
            Call {
                method: "DELETE",
                path: "accounts(1)".into(),
                headers: vec![("If-Match", "*".into())],
                body: None,
            },
        ]
    }

    #[test]
    fn a_multipart_batch_is_written_and_its_answer_read_in_order() {
        let (content_type, body) =
            encode(Dialect::Multipart, "https://org/api/data/v9.2/", &calls());
        assert_eq!(
            content_type,
            format!("multipart/mixed; boundary={BOUNDARY}")
        );
        let body = String::from_utf8(body).unwrap();
        assert!(body.contains("POST https://org/api/data/v9.2/accounts HTTP/1.1\r\n"));
        assert!(body.contains("\r\nIf-Match: *\r\n\r\n\r\n--"));
        assert!(body.ends_with(&format!("--{BOUNDARY}--\r\n")));

        let answer = "--batchresponse_1\r\nContent-Type: application/http\r\n\
            Content-Transfer-Encoding: binary\r\n\r\nHTTP/1.1 201 Created\r\n\
            Content-Type: application/json\r\n\r\n{\"name\":\"A\"}\r\n--batchresponse_1\r\n\
            Content-Type: application/http\r\n\r\nHTTP/1.1 412 Precondition Failed\r\n\r\n\r\n\
            --batchresponse_1--\r\n";
        let replies = decode(
            "multipart/mixed; boundary=batchresponse_1",
            answer.as_bytes(),
        )
        .unwrap();
        assert_eq!(
            replies,
            [
                Reply {
                    status: 201,
                    body: Some(json!({"name": "A"}))
                },
                Reply {
                    status: 412,
                    body: None
                }
            ]
        );
    }

    #[test]
    fn a_json_batch_is_answered_by_id() {
        let (content_type, body) = encode(Dialect::Json, "http://x/", &calls());
        assert_eq!(content_type, "application/json");
        let sent: Json = serde_json::from_slice(&body).unwrap();
        assert_eq!(sent["requests"][1]["url"], "accounts(1)");
        assert_eq!(sent["requests"][1]["headers"]["if-match"], "*");
        let answer = json!({"responses": [
            {"id": "2", "status": 404, "body": {"error": {"message": "gone"}}},
            {"id": "1", "status": 201, "body": {"name": "A"}},
        ]});
        let replies = decode(
            "application/json; odata.metadata=minimal",
            answer.to_string().as_bytes(),
        )
        .unwrap();
        assert_eq!(replies[0].status, 201);
        assert_eq!(replies[1].status, 404);
    }
}
