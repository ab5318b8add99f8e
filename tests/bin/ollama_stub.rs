//! `ollama-stub [--port 11434] [--script FILE] [--replies FILE]`: the FAKE Ollama of `telos_tests::ollama_stub`
//! as a process, for the desktop end-to-end tests and for trying Telos without Ollama. Runs
//! until killed; prints its URL on stdout once listening. Without a script it serves DESIGN.md's
//! four models on an 8 GiB card and echoes; `--replies` adds scripted replies (model → list).

use telos_tests::ollama_stub::{OllamaStub, Script};

fn main() {
    let mut args = std::env::args().skip(1);
    let (mut port, mut script, mut replies) = (0u16, None, None);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--port" => port = args.next().and_then(|p| p.parse().ok()).expect("--port N"),
            "--script" => script = args.next(),
            "--replies" => replies = args.next(),
            other => panic!(
                "unknown argument {other:?}: ollama-stub [--port N] [--script FILE] [--replies FILE]"
            ),
        }
    }
    let script = match script {
        None => Script::design_table(),
        Some(path) => {
            let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
        }
    };
    let script = match replies {
        Some(path) => script.with_replies_from(std::path::Path::new(&path)),
        None => script,
    };
    let stub = OllamaStub::start_on(([127, 0, 0, 1], port).into(), script);
    println!("{}", stub.url());
    loop {
        std::thread::park();
    }
}
