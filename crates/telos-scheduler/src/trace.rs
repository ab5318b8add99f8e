//! Request traces for `replay`: one JSON object per line,
//!
//! ```text
//! {"at": 12.5, "persona": "BRICK", "prompt_tokens": 900, "reply_tokens": 250}
//! ```
//!
//! `at` is seconds from the start of the trace (non-decreasing), `persona` a persona name
//! (case-insensitive), `prompt_tokens` the prompt's length with its recalled context and
//! `reply_tokens` the reply's. Blank lines and lines starting with `#` are skipped.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::model::Persona;

/// One request of a trace.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Request {
    pub at: f64,
    pub persona: String,
    pub prompt_tokens: u32,
    pub reply_tokens: u32,
    /// The dialogue the request is a turn of, if any: its turns may share a model (see
    /// `replay`'s `share`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dialogue: Option<u32>,
}

/// Reads a trace, checking every line; errors name the file and line.
pub fn read(path: &Path, personas: &[Persona]) -> Result<Vec<Request>> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    parse(path, &text, personas)
}

/// Parses trace `text` (from `path`, for messages).
pub fn parse(path: &Path, text: &str, personas: &[Persona]) -> Result<Vec<Request>> {
    let mut out: Vec<Request> = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line_no = i + 1;
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let err = |reason: String| Error::Trace {
            path: path.to_path_buf(),
            line: line_no,
            reason,
        };
        let mut request: Request =
            serde_json::from_str(line).map_err(|e| err(format!("not a trace request: {e}")))?;
        if !request.at.is_finite() || request.at < 0.0 {
            return Err(err(format!(
                "\"at\" must be seconds ≥ 0, not {}",
                request.at
            )));
        }
        if let Some(last) = out.last()
            && request.at < last.at
        {
            return Err(err(format!(
                "\"at\" goes back in time ({} after {})",
                request.at, last.at
            )));
        }
        let Some(persona) = personas
            .iter()
            .find(|p| p.name.eq_ignore_ascii_case(&request.persona))
        else {
            return Err(Error::UnknownPersona {
                path: path.to_path_buf(),
                line: line_no,
                persona: request.persona,
                known: personas
                    .iter()
                    .map(|p| p.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        };
        request.persona = persona.name.clone();
        out.push(request);
    }
    Ok(out)
}

/// Writes `requests` in the trace format.
pub fn to_jsonl(requests: &[Request]) -> String {
    requests
        .iter()
        .map(|r| serde_json::to_string(r).expect("a request serialises") + "\n")
        .collect()
}

/// A small deterministic generator (xorshift64*), so a seed always gives the same trace.
struct Rng(u64);
impl Rng {
    fn unit(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11) as f64 / (1u64 << 53) as f64
    }
    fn exp(&mut self, mean: f64) -> f64 {
        -mean * (1.0 - self.unit()).ln()
    }
    fn between(&mut self, lo: u32, hi: u32) -> u32 {
        lo + (self.unit() * f64::from(hi - lo + 1)) as u32
    }
}

/// A mixed trace of `n` requests, the way a person uses the personas: sessions with one
/// persona (ALFRED 35%, BRICK 25%, ROBIN 25%, BABS 15% of sessions, by the default names;
/// other personas share equally), a mean of 4 requests a session (BABS, for one-off facts,
/// 1.5) with a mean think time of 40 s, a mean of 4 minutes between sessions, and now and
/// then (1 in 10) a request of another persona interjected mid-session. Prompts are 200 to
/// 3,000 tokens (recall adds context), replies 50 to 800.
pub fn generate(personas: &[Persona], n: usize, seed: u64) -> Vec<Request> {
    let weight = |p: &Persona| match p.name.as_str() {
        "ALFRED" => 0.35,
        "BRICK" | "ROBIN" => 0.25,
        "BABS" => 0.15,
        _ => 0.25,
    };
    let total: f64 = personas.iter().map(weight).sum();
    let mut rng = Rng(seed.max(1));
    let pick = |rng: &mut Rng| {
        let mut x = rng.unit() * total;
        for p in personas {
            x -= weight(p);
            if x <= 0.0 {
                return p;
            }
        }
        &personas[personas.len() - 1]
    };
    let mut out = Vec::with_capacity(n);
    let mut at = 0.0;
    while out.len() < n {
        let persona = pick(&mut rng);
        let mean = if persona.name == "BABS" { 1.5 } else { 4.0 };
        let length = 1 + rng.exp(mean - 1.0).round() as usize;
        for _ in 0..length.min(n - out.len()) {
            let who = if rng.unit() < 0.1 {
                pick(&mut rng)
            } else {
                persona
            };
            out.push(Request {
                at: (at * 10.0_f64).round() / 10.0,
                persona: who.name.clone(),
                prompt_tokens: rng.between(200, 3000),
                reply_tokens: rng.between(50, 800),
                dialogue: None,
            });
            at += rng.exp(40.0);
        }
        at += rng.exp(240.0);
    }
    out
}

/// A dialogue-heavy trace of about `n` requests: Socratic dialogues (1 to 3 rounds of a
/// BRICK turn, a ROBIN turn and ALFRED's verdict, then ALFRED's synthesis), each turn asked
/// when the one before it would end on `hw` (a dialogue waits for each reply), a mean of 90 s
/// apart, with a user's request to any persona now and then (1 in 3 gaps, a mean of 20 s
/// after the dialogue). Dialogue turns carry their dialogue's number. Personas missing from
/// `personas` are skipped.
pub fn generate_dialogues(
    personas: &[Persona],
    n: usize,
    seed: u64,
    hw: &crate::replay::Hardware,
) -> Vec<Request> {
    let mut rng = Rng(seed.max(1));
    let find = |name: &str| personas.iter().find(|p| p.name == name);
    let mut out: Vec<Request> = Vec::with_capacity(n);
    let mut at = 0.0f64;
    let mut dialogue = 0u32;
    let push = |out: &mut Vec<Request>, at: f64, p: &Persona, prompt: u32, reply: u32, d| {
        let request = Request {
            at: (at * 10.0).round() / 10.0,
            persona: p.name.clone(),
            prompt_tokens: prompt,
            reply_tokens: reply,
            dialogue: d,
        };
        // When the reply would end if nothing waited: the next turn is asked then.
        let done = at + hw.service_s(&request, p.size) + 0.2;
        out.push(request);
        done
    };
    while out.len() < n {
        dialogue += 1;
        let rounds = 1 + (rng.unit() * 3.0) as u32;
        for round in 0..rounds {
            // The transcript grows each round.
            let context = 300 * round;
            for side in ["BRICK", "ROBIN"] {
                if let Some(p) = find(side) {
                    let prompt = rng.between(600, 1500) + context;
                    at = push(
                        &mut out,
                        at,
                        p,
                        prompt,
                        rng.between(80, 300),
                        Some(dialogue),
                    );
                }
            }
            if let Some(p) = find("ALFRED") {
                let prompt = rng.between(800, 1800) + context;
                at = push(&mut out, at, p, prompt, rng.between(20, 60), Some(dialogue));
            }
        }
        if let Some(p) = find("ALFRED") {
            let prompt = rng.between(1500, 2500) + 300 * rounds;
            at = push(
                &mut out,
                at,
                p,
                prompt,
                rng.between(100, 250),
                Some(dialogue),
            );
        }
        if rng.unit() < 1.0 / 3.0 && !personas.is_empty() {
            at += rng.exp(20.0);
            let p = &personas[(rng.unit() * personas.len() as f64) as usize % personas.len()];
            push(
                &mut out,
                at,
                p,
                rng.between(200, 3000),
                rng.between(50, 800),
                None,
            );
        }
        at += rng.exp(90.0);
    }
    out.truncate(n);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Bytes, KeepAlive};

    #[test]
    fn traces_round_trip_and_bad_lines_are_named() {
        let personas: Vec<Persona> = [
            ("ALFRED", KeepAlive::Forever),
            ("BRICK", KeepAlive::DEFAULT),
        ]
        .map(|(name, keep_alive)| Persona {
            name: name.into(),
            model: format!("{name}'s model"),
            keep_alive,
            priority: 1,
            size: Bytes::gb(4.0),
        })
        .into();
        let trace = generate(&personas, 50, 7);
        assert_eq!(trace.len(), 50);
        assert_eq!(trace, generate(&personas, 50, 7), "a seed gives one trace");
        let path = Path::new("t.jsonl");
        assert_eq!(parse(path, &to_jsonl(&trace), &personas).unwrap(), trace);

        let bad = "{\"at\": 1, \"persona\": \"BRICK\", \"prompt_tokens\": 1, \"reply_tokens\": 1}\n\
                   {\"at\": 0.5, \"persona\": \"BRICK\", \"prompt_tokens\": 1, \"reply_tokens\": 1}\n";
        let e = parse(path, bad, &personas).unwrap_err().to_string();
        assert!(e.starts_with("t.jsonl:2: \"at\" goes back"), "{e}");
        let e = parse(
            path,
            "\n# c\n{\"at\": 1, \"persona\": \"HAL\", \"prompt_tokens\": 1, \"reply_tokens\": 1}",
            &personas,
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("t.jsonl:3: unknown persona \"HAL\""), "{e}");
        let e = parse(path, "{\"at\": 1}", &personas)
            .unwrap_err()
            .to_string();
        assert!(e.contains("t.jsonl:1: not a trace request"), "{e}");
    }
}
