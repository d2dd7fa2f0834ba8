//! The OTLP/HTTP logs receiver: `POST /v1/logs`, as the OpenTelemetry SDKs' and the
//! Collector's `otlphttp` exporters send it (protobuf or JSON, optionally gzip). Answers as
//! the OTLP/HTTP specification asks: 200 with an `ExportLogsServiceResponse` (its
//! `partial_success` counting refused records), 400 for a body that does not decode, 413,
//! 415, and 503 with `Retry-After` when overloaded or when the journal cannot take the
//! body; error bodies are a `google.rpc.Status` in the request's encoding. Acknowledged
//! only once journalled, like every input; refused records go to the dead letters.

use crate::api::{read_body, AppState, BodyError};
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use opentelemetry_proto::tonic::collector::logs::v1::{ExportLogsPartialSuccess, ExportLogsServiceResponse};
use prost::Message;
use sitrep_core::InputFormat;
use std::io::Read;

/// `google.rpc.Status`, the error body OTLP/HTTP prescribes (only the two fields we set).
#[derive(Clone, PartialEq, prost::Message)]
struct RpcStatus {
    #[prost(int32, tag = "1")]
    code: i32,
    #[prost(string, tag = "2")]
    message: String,
}

// gRPC status codes used in `RpcStatus.code`
const INVALID_ARGUMENT: i32 = 3;
const RESOURCE_EXHAUSTED: i32 = 8;
const UNAVAILABLE: i32 = 14;

#[derive(Clone, Copy, PartialEq)]
enum Encoding {
    Protobuf,
    Json,
}

impl Encoding {
    fn content_type(self) -> &'static str {
        match self {
            Encoding::Protobuf => "application/x-protobuf",
            Encoding::Json => "application/json",
        }
    }
}

fn status(enc: Encoding, http: StatusCode, code: i32, message: impl Into<String>) -> Response {
    let s = RpcStatus {
        code,
        message: message.into(),
    };
    let body = match enc {
        Encoding::Protobuf => s.encode_to_vec(),
        Encoding::Json => serde_json::to_vec(&serde_json::json!({"code": s.code, "message": s.message}))
            .expect("serialises"),
    };
    let mut r = (http, body).into_response();
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(enc.content_type()));
    if http == StatusCode::SERVICE_UNAVAILABLE {
        r.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    }
    r
}

fn success(enc: Encoding, rejected: usize, message: String) -> Response {
    let reply = ExportLogsServiceResponse {
        partial_success: (rejected > 0).then_some(ExportLogsPartialSuccess {
            rejected_log_records: rejected as i64,
            error_message: message,
        }),
    };
    let body = match enc {
        Encoding::Protobuf => reply.encode_to_vec(),
        // an empty message is `{}`, not `{"partialSuccess":null}`
        Encoding::Json if reply.partial_success.is_none() => b"{}".to_vec(),
        Encoding::Json => serde_json::to_vec(&reply).expect("serialises"),
    };
    let mut r = (StatusCode::OK, body).into_response();
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(enc.content_type()));
    r
}

/// At most `limit` bytes of the decompressed body: a small gzip body must not expand
/// into unbounded memory.
fn gunzip(body: &[u8], limit: usize) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(body)
        .take(limit as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|e| format!("gzip body does not decompress: {e}"))?;
    if out.len() > limit {
        return Err(format!(
            "decompressed body is over the limit of {limit} bytes (server.max_body_bytes)"
        ));
    }
    Ok(out)
}

pub async fn post_logs(State(s): State<AppState>, req: Request) -> Response {
    // read before any await: a reference to the request (whose body is not `Sync`) must
    // not live across one
    let (content_type, content_encoding) = {
        let text = |name: header::HeaderName| {
            req.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(|v| v.split(';').next().unwrap_or("").trim().to_ascii_lowercase())
                .unwrap_or_default()
        };
        (text(header::CONTENT_TYPE), text(header::CONTENT_ENCODING))
    };
    let enc = match content_type.as_str() {
        "application/x-protobuf" | "application/protobuf" => Encoding::Protobuf,
        "application/json" => Encoding::Json,
        other => {
            return status(
                Encoding::Json,
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                INVALID_ARGUMENT,
                format!("content type `{other}`: OTLP/HTTP takes application/x-protobuf or application/json"),
            )
        }
    };
    let gzip = match content_encoding.as_str() {
        "" | "identity" => false,
        "gzip" => true,
        other => {
            return status(
                enc,
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                INVALID_ARGUMENT,
                format!("content encoding `{other}`: gzip or none"),
            )
        }
    };
    let Ok(_permit) = s.inflight.try_acquire() else {
        crate::telemetry::request_shed();
        return status(
            enc,
            StatusCode::SERVICE_UNAVAILABLE,
            UNAVAILABLE,
            "overloaded: retry after the delay given",
        );
    };
    let limit = s.cfg.max_body_bytes;
    let too_large = || {
        status(
            enc,
            StatusCode::PAYLOAD_TOO_LARGE,
            RESOURCE_EXHAUSTED,
            format!("body is over the limit of {limit} bytes (server.max_body_bytes)"),
        )
    };
    let body = match read_body(&s, req, limit).await {
        Ok(b) => b,
        Err(BodyError::Slow(r)) => return r,
        Err(BodyError::TooLarge) => return too_large(),
    };
    let body: Vec<u8> = if gzip {
        match gunzip(&body, limit) {
            Ok(b) => b,
            Err(e) if e.contains("over the limit") => return too_large(),
            Err(e) => return status(enc, StatusCode::BAD_REQUEST, INVALID_ARGUMENT, e),
        }
    } else {
        body.to_vec()
    };
    let format = match enc {
        Encoding::Protobuf => InputFormat::OtlpProto,
        Encoding::Json => InputFormat::OtlpJson,
    };
    // the decompressed body is what is journalled: a replay decodes it the same way
    let ingested = s.ingest(&format, "otlp", &body, s.now());
    if let Some(durable) = ingested.durable {
        if let Err(e) = durable.wait().await {
            return status(
                enc,
                StatusCode::SERVICE_UNAVAILABLE,
                UNAVAILABLE,
                format!("journal write failed, nothing in this request is acknowledged: {e}"),
            );
        }
    }
    let rejected = ingested.rejected;
    let undecodable = ingested.accepted == 0
        && rejected.len() == 1
        && matches!(rejected[0].code.as_str(), "not_protobuf" | "not_json" | "schema");
    if undecodable {
        return status(
            enc,
            StatusCode::BAD_REQUEST,
            INVALID_ARGUMENT,
            rejected[0].reason.clone(),
        );
    }
    let message = rejected
        .iter()
        .take(3)
        .map(|r| format!("record {}: {}", r.index, r.reason))
        .collect::<Vec<_>>()
        .join("; ");
    success(enc, rejected.len(), message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gzip_is_bounded_after_decompression() {
        use std::io::Write;
        let mut z = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        z.write_all(&vec![b'a'; 100_000]).unwrap();
        let small = z.finish().unwrap();
        assert!(small.len() < 1_000);
        assert_eq!(gunzip(&small, 100_000).unwrap().len(), 100_000);
        assert!(gunzip(&small, 99_999).unwrap_err().contains("over the limit"));
        assert!(gunzip(b"not gzip", 10)
            .unwrap_err()
            .contains("does not decompress"));
    }
}
