//! `evaluation` objects: one per judged exchange, linked `judged` to what it judged (the
//! persona for a chat, the dialogue for a dialogue's part), holding the conversation, the
//! scores, the overall score and the rationale. The persona's golden dataset is its
//! evaluations at or above a threshold; its performance is the mean score per week.

use std::collections::{BTreeMap, HashSet};

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use telos_image::{Cycle, Image, Object, ObjectId};

use crate::exchange::{Exchange, ExchangeSource, Message};
use crate::judge::Scored;

/// The `kind` slot of an evaluation object.
pub const EVALUATION: &str = "evaluation";
/// The link from an evaluation to what it judged.
pub const JUDGED: &str = "judged";
/// The default threshold of the golden dataset (overall score, 1..=5).
pub const GOLDEN: f64 = 4.0;
const WEEK_MS: i64 = 7 * 24 * 3_600_000;
/// 1970-01-01 was a Thursday: weeks start on Monday, 4 days later.
const MONDAY_MS: i64 = 4 * 24 * 3_600_000;

/// An evaluation as the image holds it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Evaluation {
    pub id: String,
    pub name: String,
    pub persona: String,
    /// The exchange's key.
    pub exchange: String,
    pub source: ExchangeSource,
    pub messages: Vec<Message>,
    pub scores: BTreeMap<String, u8>,
    pub overall: u8,
    pub rationale: String,
    /// The judge's model.
    pub judge: String,
    /// The model that answered, when known.
    pub model: Option<String>,
    /// When the exchange happened (ms since the epoch).
    #[cfg_attr(feature = "specta", specta(type = specta_typescript::Number))]
    pub at: i64,
    /// When it was judged.
    #[cfg_attr(feature = "specta", specta(type = specta_typescript::Number))]
    pub judged_at: i64,
}

impl Evaluation {
    pub fn of(o: &Object) -> Option<Self> {
        let s = &o.slots;
        if s.get("kind").and_then(Value::as_str) != Some(EVALUATION) {
            return None;
        }
        let text = |k: &str| s.get(k).and_then(Value::as_str).map(str::to_string);
        Some(Self {
            id: o.id.to_string(),
            name: o.name.clone(),
            persona: text("persona")?,
            exchange: text("exchange")?,
            source: serde_json::from_value(s.get("source")?.clone()).ok()?,
            messages: serde_json::from_value(s.get("messages")?.clone()).ok()?,
            scores: serde_json::from_value(s.get("scores")?.clone()).unwrap_or_default(),
            overall: s.get("overall")?.as_u64()? as u8,
            rationale: text("rationale").unwrap_or_default(),
            judge: text("judge").unwrap_or_default(),
            model: text("model"),
            at: s.get("at").and_then(Value::as_i64).unwrap_or(o.created),
            judged_at: s
                .get("judged_at")
                .and_then(Value::as_i64)
                .unwrap_or(o.created),
        })
    }

    /// The persona's last reply.
    pub fn reply(&self) -> &str {
        self.messages.last().map_or("", |m| m.content.as_str())
    }
}

/// Stages the evaluation of `exchange` in `cycle`: the object, linked to what it judged.
pub(crate) fn stage(
    cycle: &mut Cycle,
    exchange: &Exchange,
    scored: &Scored,
    n: usize,
) -> telos_image::Result<ObjectId> {
    let genesis = cycle.resolve("genesis")?;
    let name = format!("evaluation {}.{n}", cycle.id());
    let id = cycle.create(&name, &[genesis])?;
    let slots = [
        ("kind", json!(EVALUATION)),
        ("persona", json!(exchange.persona)),
        ("exchange", json!(exchange.key)),
        ("source", json!(exchange.source)),
        ("messages", json!(exchange.messages)),
        ("scores", json!(scored.scores)),
        ("overall", json!(scored.overall)),
        ("rationale", json!(scored.rationale)),
        ("judge", json!(scored.judge)),
        ("model", json!(exchange.model)),
        ("at", json!(exchange.at)),
        ("judged_at", json!(telos_image::now_ms())),
    ];
    for (slot, value) in slots {
        cycle.set_slot(&id, slot, value)?;
    }
    if let Some(judged) = ObjectId::parse(&exchange.judged) {
        cycle.link(&id, JUDGED, &judged)?;
    }
    Ok(id)
}

/// Every evaluation (of `persona`, when named), newest exchange first.
pub fn evaluations(image: &Image, persona: Option<&str>) -> Vec<Evaluation> {
    let mut all: Vec<Evaluation> = image
        .objects()
        .iter()
        .filter_map(|o| Evaluation::of(o))
        .filter(|e| persona.is_none_or(|p| e.persona == p))
        .collect();
    all.sort_by(|a, b| b.at.cmp(&a.at).then(b.id.cmp(&a.id)));
    all
}

/// The keys of the exchanges already judged.
pub fn judged(image: &Image) -> HashSet<String> {
    evaluations(image, None)
        .into_iter()
        .map(|e| e.exchange)
        .collect()
}

/// The golden dataset: `persona`'s evaluations scored `min` or more, newest first.
pub fn golden(image: &Image, persona: &str, min: f64) -> Vec<Evaluation> {
    evaluations(image, Some(persona))
        .into_iter()
        .filter(|e| f64::from(e.overall) >= min)
        .collect()
}

/// The mean overall score of one week's exchanges.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct WeekScore {
    /// Monday 00:00 UTC of the week (ms since the epoch).
    #[cfg_attr(feature = "specta", specta(type = specta_typescript::Number))]
    pub week: i64,
    pub mean: f64,
    pub exchanges: u32,
}

/// Performance over time: the mean overall score per week (by when the exchange happened),
/// oldest first.
pub fn performance(evaluations: &[Evaluation]) -> Vec<WeekScore> {
    let mut weeks: BTreeMap<i64, (f64, u32)> = BTreeMap::new();
    for e in evaluations {
        let week = (e.at - MONDAY_MS).div_euclid(WEEK_MS) * WEEK_MS + MONDAY_MS;
        let w = weeks.entry(week).or_default();
        w.0 += f64::from(e.overall);
        w.1 += 1;
    }
    weeks
        .into_iter()
        .map(|(week, (sum, n))| WeekScore {
            week,
            mean: sum / f64::from(n),
            exchanges: n,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scored(at: i64, overall: u8) -> Evaluation {
        Evaluation {
            id: String::new(),
            name: String::new(),
            persona: "BABS".into(),
            exchange: format!("chat:x:{at}"),
            source: ExchangeSource::Chat,
            messages: vec![],
            scores: BTreeMap::new(),
            overall,
            rationale: String::new(),
            judge: String::new(),
            model: None,
            at,
            judged_at: at,
        }
    }

    #[test]
    fn performance_is_the_mean_per_week_starting_monday() {
        // 2026-11-30 is a Monday; 12-06 its Sunday; 12-07 the next Monday (UTC).
        let monday = 1_795_996_800_000;
        let day = 24 * 3_600_000;
        let weeks = performance(&[
            scored(monday + 1, 2),
            scored(monday + 6 * day + 1, 4),
            scored(monday + 7 * day, 5),
        ]);
        assert_eq!(weeks.len(), 2);
        assert_eq!(
            (weeks[0].week, weeks[0].mean, weeks[0].exchanges),
            (monday, 3.0, 2)
        );
        assert_eq!((weeks[1].week, weeks[1].mean), (monday + 7 * day, 5.0));
    }
}
