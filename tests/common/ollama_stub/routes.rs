//! The stub's HTTP side: each route of Ollama's API it serves, and the replies it streams.

use super::*;

pub(super) fn not_found(model: &str) -> Response {
    (
        StatusCode::NOT_FOUND,
        axum::Json(json!({"error": format!("model \"{model}\" not found, try pulling it first")})),
    )
        .into_response()
}

pub(super) fn bad_request(message: String) -> Response {
    (
        StatusCode::BAD_REQUEST,
        axum::Json(json!({"error": message})),
    )
        .into_response()
}

/// RFC 3339 in UTC, as Ollama writes times.
pub(super) fn rfc3339(t: SystemTime) -> String {
    let secs = t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs()) as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Howard Hinnant's civil-from-days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

pub(super) fn keep_alive_of(body: &Value) -> Result<KeepAlive, Box<Response>> {
    match body.get("keep_alive") {
        None | Some(Value::Null) => Ok(KeepAlive::DEFAULT),
        Some(v) => serde_json::from_value(v.clone())
            .map_err(|e| Box::new(bad_request(format!("bad keep_alive {v}: {e}")))),
    }
}

/// Ollama streams unless told `"stream": false`.
pub(super) fn streams(body: &Value) -> bool {
    body.get("stream") != Some(&Value::Bool(false))
}

pub(super) fn model_and_keep_alive(body: &Value) -> Result<(String, KeepAlive), Box<Response>> {
    Ok((model_of(body)?, keep_alive_of(body)?))
}

pub(super) fn model_of(body: &Value) -> Result<String, Box<Response>> {
    body.get("model")
        .or_else(|| body.get("name"))
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| Box::new(bad_request("model is required".into())))
}

pub(super) async fn tags(State(stub): State<Arc<Stub>>) -> Response {
    let created = stub.created.lock().expect("created").clone();
    let models: Vec<Value> = stub
        .script
        .models
        .iter()
        .chain(created.iter())
        .map(|m| {
            json!({"name": m.name, "model": m.name, "size": m.size.0, "digest": "stub",
                   "modified_at": rfc3339(SystemTime::now()),
                   "details": {"format": "gguf", "family": "stub", "parameter_size": "", "quantization_level": "Q4_0"}})
        })
        .collect();
    axum::Json(json!({ "models": models })).into_response()
}

/// `/api/pull`: a model of the script "downloads" in four steps and succeeds; any other is
/// not in the library (Ollama's error line, mid-stream).
pub(super) async fn pull(
    State(stub): State<Arc<Stub>>,
    axum::Json(body): axum::Json<Value>,
) -> Response {
    let model = match model_of(&body) {
        Ok(m) => m,
        Err(e) => return *e,
    };
    let mut lines = vec![json!({"status": "pulling manifest"})];
    match stub.script.models.iter().find(|m| m.name == model) {
        Some(m) => {
            let total = m.size.0;
            for k in 1..=4u64 {
                lines.push(json!({"status": "pulling stub", "digest": "sha256:stub",
                                  "total": total, "completed": total * k / 4}));
            }
            lines.push(json!({"status": "success"}));
        }
        None => lines.push(json!({"error": "pull model manifest: file does not exist"})),
    }
    let body: String = lines.iter().map(|l| format!("{l}\n")).collect();
    Response::builder()
        .header("content-type", "application/x-ndjson")
        .body(Body::from(body))
        .expect("a response")
}

pub(super) async fn ps(State(stub): State<Arc<Stub>>) -> Response {
    let now = SystemTime::now();
    let models: Vec<Value> = stub
        .loaded
        .lock()
        .unwrap()
        .iter()
        .map(|l| {
            let expires = match l.keep_alive.idle_secs() {
                None => now + Duration::from_secs(300 * 365 * 86_400),
                Some(s) => now + Duration::from_secs_f64(s),
            };
            json!({"name": l.name, "model": l.name, "size": l.size.0, "size_vram": l.size.0,
                   "digest": "stub", "details": {"format": "gguf", "family": "stub"},
                   "expires_at": rfc3339(expires)})
        })
        .collect();
    axum::Json(json!({ "models": models })).into_response()
}

pub(super) async fn show(
    State(stub): State<Arc<Stub>>,
    axum::Json(body): axum::Json<Value>,
) -> Response {
    let name = match model_of(&body) {
        Ok(n) => n,
        Err(r) => return *r,
    };
    match stub.model(&name) {
        None => not_found(&name),
        Some(m) => axum::Json(json!({
            "modelfile": "", "parameters": "", "template": "{{ .Prompt }}",
            "details": {"format": "gguf", "family": "stub", "parameter_size": "", "quantization_level": "Q4_0"},
            "model_info": {"general.size_bytes": m.size.0},
            "capabilities": ["completion"],
            "modified_at": rfc3339(SystemTime::now()),
        }))
        .into_response(),
    }
}

pub(super) async fn generate(
    State(stub): State<Arc<Stub>>,
    axum::Json(body): axum::Json<Value>,
) -> Response {
    let (name, keep_alive) = match model_and_keep_alive(&body) {
        Ok(x) => x,
        Err(r) => return *r,
    };
    let prompt = body.get("prompt").and_then(Value::as_str).unwrap_or("");
    if prompt.is_empty() {
        let reason = if keep_alive == KeepAlive::Zero {
            if stub.model(&name).is_none() {
                return not_found(&name);
            }
            stub.unload(&name);
            "unload"
        } else {
            if let Err(r) = stub.ensure_loaded(&name, keep_alive, false).await {
                return r;
            }
            "load"
        };
        return axum::Json(
            json!({"model": name, "created_at": rfc3339(SystemTime::now()),
                                 "response": "", "done": true, "done_reason": reason}),
        )
        .into_response();
    }
    let messages = json!([{"role": "user", "content": prompt}]);
    reply(
        stub,
        name,
        keep_alive,
        &messages,
        streams(&body),
        "response",
    )
    .await
}

pub(super) async fn chat(
    State(stub): State<Arc<Stub>>,
    axum::Json(body): axum::Json<Value>,
) -> Response {
    let (name, keep_alive) = match model_and_keep_alive(&body) {
        Ok(x) => x,
        Err(r) => return *r,
    };
    let messages = body.get("messages").cloned().unwrap_or(json!([]));
    if let Some(format) = body.get("format") {
        stub.formats
            .lock()
            .unwrap()
            .insert(name.clone(), format.clone());
    }
    reply(stub, name, keep_alive, &messages, streams(&body), "message").await
}

/// Answers a chat or a generate: loads the model, streams the scripted reply token by token
/// (NDJSON), then starts its keep-alive clock.
pub(super) async fn reply(
    stub: Arc<Stub>,
    name: String,
    keep_alive: KeepAlive,
    messages: &Value,
    stream: bool,
    field: &'static str,
) -> Response {
    if let Err(r) = stub.ensure_loaded(&name, keep_alive, true).await {
        return r;
    }
    stub.record("chat", &name, Some(keep_alive));
    stub.messages
        .lock()
        .unwrap()
        .insert(name.clone(), messages.clone());
    let last_user = messages
        .as_array()
        .and_then(|m| m.iter().rev().find(|m| m["role"] == "user"))
        .and_then(|m| m["content"].as_str())
        .unwrap_or("")
        .to_string();
    let (text, cut_after, error) = match stub.next_reply(&name, &last_user) {
        Reply::Text(t) => (t, None, None),
        Reply::Shaped {
            text,
            cut_after,
            error,
        } => (text, cut_after, error),
    };
    let tokens: Vec<String> = text.split_inclusive(' ').map(str::to_string).collect();
    let model_name = name.clone();
    let piece = move |content: &str, done: bool| {
        let name = &model_name;
        let mut line = if field == "message" {
            json!({"model": name, "created_at": rfc3339(SystemTime::now()),
                   "message": {"role": "assistant", "content": content}, "done": done})
        } else {
            json!({"model": name, "created_at": rfc3339(SystemTime::now()), "response": content, "done": done})
        };
        if done {
            line["done_reason"] = json!("stop");
            for k in [
                "total_duration",
                "load_duration",
                "prompt_eval_count",
                "prompt_eval_duration",
                "eval_count",
                "eval_duration",
            ] {
                line[k] = json!(1);
            }
        }
        line.to_string() + "\n"
    };
    if !stream {
        stub.release(&name);
        if let Some(e) = error {
            return (
                StatusCode::INTERNAL_SERVER_ERROR,
                axum::Json(json!({"error": e})),
            )
                .into_response();
        }
        let mut whole: Value = serde_json::from_str(&piece(&text, true)).expect("json");
        whole["done"] = json!(true);
        return axum::Json(whole).into_response();
    }
    let token_ms = stub.script.token_ms;
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<String, std::io::Error>>(4);
    let model = name.clone();
    tokio::spawn(async move {
        for (sent, token) in tokens.iter().enumerate() {
            if cut_after.is_some_and(|n| sent >= n) {
                // Let what was sent reach the client before the connection drops.
                tokio::time::sleep(Duration::from_millis(100)).await;
                let _ = tx
                    .send(Err(std::io::Error::other("the stub cuts the stream")))
                    .await;
                stub.release(&model);
                return;
            }
            tokio::time::sleep(Duration::from_millis(token_ms)).await;
            if tx.send(Ok(piece(token, false))).await.is_err() {
                stub.release(&model); // the client went away: a cancelled request
                return;
            }
        }
        let last = match &error {
            Some(e) => json!({"error": e}).to_string() + "\n",
            None => piece("", true),
        };
        let _ = tx.send(Ok(last)).await;
        stub.release(&model);
    });
    let body = Body::from_stream(tokio_stream_of(rx));
    Response::builder()
        .header("content-type", "application/x-ndjson")
        .body(body)
        .expect("a response")
}

pub(super) fn tokio_stream_of(
    mut rx: tokio::sync::mpsc::Receiver<Result<String, std::io::Error>>,
) -> impl futures::Stream<Item = Result<String, std::io::Error>> {
    futures::stream::poll_fn(move |cx| rx.poll_recv(cx))
}

pub(super) async fn log(State(stub): State<Arc<Stub>>) -> Response {
    axum::Json(stub.log_json()).into_response()
}

/// `HEAD /api/blobs/DIGEST`: 200 when the blob was uploaded, else 404.
pub(super) async fn has_blob(
    State(stub): State<Arc<Stub>>,
    axum::extract::Path(digest): axum::extract::Path<String>,
) -> Response {
    if stub.blobs.lock().expect("blobs").contains_key(&digest) {
        StatusCode::OK.into_response()
    } else {
        StatusCode::NOT_FOUND.into_response()
    }
}

/// `POST /api/blobs/DIGEST`: the body must hash to the digest.
pub(super) async fn put_blob(
    State(stub): State<Arc<Stub>>,
    axum::extract::Path(digest): axum::extract::Path<String>,
    body: axum::body::Bytes,
) -> Response {
    use sha2::{Digest, Sha256};
    let got = format!("sha256:{:x}", Sha256::digest(&body));
    if got != digest {
        return bad_request(format!("digest mismatch: {got} is not {digest}"));
    }
    stub.blobs
        .lock()
        .expect("blobs")
        .insert(digest, body.len() as u64);
    StatusCode::CREATED.into_response()
}

/// `POST /api/create` from uploaded blobs: the model is listed by `/api/tags` from then on.
pub(super) async fn create(
    State(stub): State<Arc<Stub>>,
    axum::Json(body): axum::Json<Value>,
) -> Response {
    let model = match model_of(&body) {
        Ok(m) => m,
        Err(e) => return *e,
    };
    let blobs = stub.blobs.lock().expect("blobs").clone();
    let mut size = 0;
    for digest in body["files"]
        .as_object()
        .into_iter()
        .flat_map(|f| f.values())
    {
        match digest.as_str().and_then(|d| blobs.get(d)) {
            Some(n) => size += n,
            None => return bad_request(format!("blob {digest} was never uploaded")),
        }
    }
    if size == 0 {
        return bad_request("no files to create the model from".into());
    }
    stub.created.lock().expect("created").push(StubModel {
        name: model,
        size: Bytes(size),
        load_ms: 20,
    });
    axum::Json(json!({"status": "success"})).into_response()
}
