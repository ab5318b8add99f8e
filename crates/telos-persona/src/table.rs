//! DESIGN.md's persona table, written once. The awakening's persona objects, the scheduler's
//! defaults (what `telos scheduler replay` simulates) and the codex a persona falls back to
//! all derive from [`SEEDS`]; the tests below fail if any of them drifts from it.

use serde_json::{Value, json};
use telos_image::genesis::{self, PERSONA};
use telos_image::{Cycle, CycleRecord, Image};
use telos_scheduler::{Bytes, KeepAlive, Persona};

use crate::codex::Codex;

/// One persona as the design seeds it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Seed {
    pub name: &'static str,
    pub role: &'static str,
    /// The Ollama model it thinks with.
    pub model: &'static str,
    /// Ollama's keep-alive: pinned (`-1`), a duration, or unloaded at once (`0`).
    pub keep_alive: KeepAlive,
    /// Eviction priority: higher stays loaded longer when VRAM is short.
    pub priority: i32,
    /// The model's VRAM in decimal GB until Ollama measures it.
    pub vram_gb: f64,
    pub system_prompt: &'static str,
    pub values: &'static [&'static str],
}

/// ALFRED, BRICK, ROBIN and BABS: DESIGN.md's hardware table with each persona's codex.
pub const SEEDS: [Seed; 4] = [
    Seed {
        name: "ALFRED",
        role: "supervisor",
        model: "phi3:3.8b",
        keep_alive: KeepAlive::Forever,
        priority: 3,
        vram_gb: 2.2,
        system_prompt: "You are ALFRED, the supervisor of Telos: you keep the other personas on \
                        task, answer briefly and plainly, and say when a question belongs to \
                        BRICK, ROBIN or BABS.",
        values: &["clarity", "economy", "oversight"],
    },
    Seed {
        name: "BRICK",
        role: "engineer",
        model: "mistral:7b",
        keep_alive: KeepAlive::Seconds(300),
        priority: 2,
        vram_gb: 4.1,
        system_prompt: "You are BRICK, the engineer of Telos: you take problems apart into steps, \
                        write and check code, and state your assumptions.",
        values: &["rigour", "working code", "honesty about limits"],
    },
    Seed {
        name: "ROBIN",
        role: "empathy",
        model: "gemma2:9b",
        keep_alive: KeepAlive::Seconds(300),
        priority: 2,
        vram_gb: 5.4,
        system_prompt: "You are ROBIN, the empathetic voice of Telos: you listen for what the \
                        person needs and answer with warmth and care.",
        values: &["care", "patience", "kindness"],
    },
    Seed {
        name: "BABS",
        role: "research",
        model: "qwen2:7b",
        keep_alive: KeepAlive::Zero,
        priority: 1,
        vram_gb: 4.4,
        system_prompt: "You are BABS, the researcher of Telos: you answer factual questions from \
                        what you remember, cite sources, and say when you do not know.",
        values: &["accuracy", "sources", "curiosity"],
    },
];

/// The seed of the persona called `name`, if the table has one.
pub fn seed(name: &str) -> Option<&'static Seed> {
    SEEDS.iter().find(|s| s.name == name)
}

/// The table's VRAM figure for `model`, if one of its personas thinks with it.
pub fn vram_estimate(model: &str) -> Option<Bytes> {
    SEEDS
        .iter()
        .find(|s| s.model == model)
        .map(|s| Bytes::gb(s.vram_gb))
}

/// The scheduler's view of the table: what `telos scheduler replay` and the scheduler's tests
/// simulate.
pub fn scheduler_defaults() -> Vec<Persona> {
    SEEDS.iter().map(Seed::scheduler_persona).collect()
}

impl Seed {
    /// The codex this seed gives its persona.
    pub fn codex(&self) -> Codex {
        Codex {
            name: self.name.into(),
            role: self.role.into(),
            model: self.model.into(),
            system_prompt: self.system_prompt.into(),
            keep_alive: self.keep_alive.to_json(),
            priority: self.priority,
            values: self.values.iter().map(|v| v.to_string()).collect(),
        }
    }

    /// The persona as the scheduler sees it.
    pub fn scheduler_persona(&self) -> Persona {
        Persona {
            name: self.name.into(),
            model: self.model.into(),
            keep_alive: self.keep_alive,
            priority: self.priority,
            size: Bytes::gb(self.vram_gb),
        }
    }

    /// The slots the persona object holds: its codex and its first VRAM estimate.
    fn slots(&self) -> Vec<(&'static str, Value)> {
        vec![
            ("role", json!(self.role)),
            ("model", json!(self.model)),
            ("keep_alive", self.keep_alive.to_json()),
            ("priority", json!(self.priority)),
            ("vram_estimate_gb", json!(self.vram_gb)),
            ("system_prompt", json!(self.system_prompt)),
            ("values", json!(self.values)),
        ]
    }
}

/// The awakening with its personas, in one cycle: the root and the prototypes, the persona
/// prototype's defaults, and a clone of it per seed. `None` when the image was awake.
pub async fn awaken(image: &Image) -> telos_image::Result<Option<CycleRecord>> {
    genesis::awaken_with(image, populate).await
}

fn populate(c: &mut Cycle) -> telos_image::Result<()> {
    let persona = c.resolve(PERSONA)?;
    for (slot, value) in [
        ("role", json!("")),
        ("model", Value::Null),
        ("keep_alive", json!("5m")),
        ("priority", json!(0)),
        ("vram_estimate_gb", Value::Null),
    ] {
        c.set_slot(&persona, slot, value)?;
    }
    for seed in &SEEDS {
        let id = c.clone_object(&persona, seed.name)?;
        for (slot, value) in seed.slots() {
            c.set_slot(&id, slot, value)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::roster::of_image;

    /// DESIGN.md's table as the design states it: the oracle the seeds are held to.
    const DESIGN: [(&str, &str, &str, f64); 4] = [
        ("ALFRED", "phi3:3.8b", "-1", 2.2),
        ("BRICK", "mistral:7b", "5m", 4.1),
        ("ROBIN", "gemma2:9b", "5m", 5.4),
        ("BABS", "qwen2:7b", "0", 4.4),
    ];

    #[test]
    fn the_seeds_are_designs_table() {
        let seeds: Vec<_> = SEEDS
            .iter()
            .map(|s| (s.name, s.model, s.keep_alive.to_string(), s.vram_gb))
            .collect();
        let design: Vec<_> = DESIGN
            .iter()
            .map(|(n, m, k, gb)| (*n, *m, k.to_string(), *gb))
            .collect();
        assert_eq!(seeds, design);
    }

    #[tokio::test]
    async fn the_awakened_personas_the_scheduler_and_the_codex_all_say_what_the_table_says() {
        let image = Image::in_memory().await.unwrap();
        awaken(&image).await.unwrap().expect("a first awakening");
        assert!(awaken(&image).await.unwrap().is_none(), "awake once");
        let mut defaults = scheduler_defaults();
        defaults.sort_by(|a, b| a.name.cmp(&b.name));
        assert_eq!(
            of_image(&image),
            defaults,
            "the scheduler's personas, by name"
        );
        for seed in &SEEDS {
            let object = image.resolve(seed.name).unwrap();
            assert_eq!(
                Codex::of(&image, &object),
                seed.codex(),
                "{}'s codex",
                seed.name
            );
        }
        // A persona the table does not know still has a whole codex.
        let mut c = image.begin("test");
        let persona = c.resolve(PERSONA).unwrap();
        c.create("MARVIN", &[persona]).unwrap();
        c.commit().await.unwrap();
        let marvin = Codex::of(&image, &image.resolve("MARVIN").unwrap());
        assert_eq!(marvin.system_prompt, "You are MARVIN, a persona of Telos.");
        assert_eq!(marvin.keep_alive, json!("5m"));
    }
}
