//! The vocabulary: sizes in bytes, Ollama's keep-alive, and a persona as the scheduler sees
//! it. Which personas there are is not the scheduler's to say: they come from the image (and
//! DESIGN.md's table lives in `telos-persona`).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::{Error, Result};

/// A number of bytes of VRAM. Parses `8GiB`, `7.5GB`, `512MiB`, `4096`; shows GiB when
/// whole, else decimal GB (the unit Ollama's model pages use).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Bytes(pub u64);

const GIB: u64 = 1 << 30;

impl Bytes {
    /// `n` decimal gigabytes.
    pub fn gb(n: f64) -> Self {
        Self((n * 1e9).round() as u64)
    }
    /// `n` gibibytes.
    pub fn gib(n: u64) -> Self {
        Self(n * GIB)
    }
}

impl fmt::Display for Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 >= GIB && self.0.is_multiple_of(GIB) {
            write!(f, "{} GiB", self.0 / GIB)
        } else if self.0 >= 100_000_000 {
            write!(f, "{:.1} GB", self.0 as f64 / 1e9)
        } else {
            write!(f, "{:.1} MB", self.0 as f64 / 1e6)
        }
    }
}

impl FromStr for Bytes {
    type Err = Error;
    fn from_str(input: &str) -> Result<Self> {
        let bad = |reason: &str| Error::BadSize {
            input: input.to_string(),
            reason: reason.to_string(),
        };
        let s = input.trim();
        let split = s
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(s.len());
        let (number, unit) = s.split_at(split);
        let number: f64 = number.parse().map_err(|_| bad("no number"))?;
        let scale = match unit.trim().to_ascii_lowercase().as_str() {
            "" | "b" => 1.0,
            "kb" => 1e3,
            "mb" => 1e6,
            "gb" => 1e9,
            "tb" => 1e12,
            "kib" => 1024.0,
            "mib" => 1024.0 * 1024.0,
            "gib" => GIB as f64,
            "tib" => GIB as f64 * 1024.0,
            other => return Err(bad(&format!("unknown unit {other:?}"))),
        };
        let bytes = number * scale;
        if !bytes.is_finite() || bytes > u64::MAX as f64 {
            return Err(bad("too large"));
        }
        Ok(Self(bytes.round() as u64))
    }
}

impl Serialize for Bytes {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_u64(self.0)
    }
}

impl<'de> Deserialize<'de> for Bytes {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Number(u64),
            Text(String),
        }
        match Raw::deserialize(d)? {
            Raw::Number(n) => Ok(Self(n)),
            Raw::Text(t) => t.parse().map_err(serde::de::Error::custom),
        }
    }
}

/// How long Ollama keeps a model in memory once it is idle: Ollama's `keep_alive`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeepAlive {
    /// `-1`: never unloaded by time. The scheduler never evicts such a model (pinned).
    Forever,
    /// `0`: unloaded as soon as its last request completes.
    Zero,
    /// Unloaded after this many idle seconds (Ollama's default is 5 minutes).
    Seconds(u64),
}

impl KeepAlive {
    /// Ollama's default.
    pub const DEFAULT: Self = Self::Seconds(300);

    /// Idle seconds before an unload, `None` for never.
    pub fn idle_secs(self) -> Option<f64> {
        match self {
            Self::Forever => None,
            Self::Zero => Some(0.0),
            Self::Seconds(s) => Some(s as f64),
        }
    }

    /// Whether the model is pinned (never evicted).
    pub fn pinned(self) -> bool {
        self == Self::Forever
    }

    /// The value as Ollama's API takes it: `-1`, `0` or a duration string.
    pub fn to_json(self) -> serde_json::Value {
        match self {
            Self::Forever => (-1).into(),
            Self::Zero => 0.into(),
            Self::Seconds(s) => self::fmt_duration(s).into(),
        }
    }
}

fn fmt_duration(s: u64) -> String {
    if s.is_multiple_of(3600) {
        format!("{}h", s / 3600)
    } else if s.is_multiple_of(60) {
        format!("{}m", s / 60)
    } else {
        format!("{s}s")
    }
}

impl fmt::Display for KeepAlive {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Forever => f.write_str("-1"),
            Self::Zero => f.write_str("0"),
            Self::Seconds(s) => f.write_str(&fmt_duration(*s)),
        }
    }
}

impl FromStr for KeepAlive {
    type Err = Error;
    /// Ollama's forms: a number of seconds (negative: forever) or a duration such as `5m`,
    /// `1h30m`, `45s`.
    fn from_str(input: &str) -> Result<Self> {
        let bad = || Error::BadKeepAlive {
            input: input.to_string(),
        };
        let s = input.trim();
        if let Ok(n) = s.parse::<i64>() {
            return Ok(match n {
                n if n < 0 => Self::Forever,
                0 => Self::Zero,
                n => Self::Seconds(n as u64),
            });
        }
        if s.starts_with('-') {
            return Ok(Self::Forever);
        }
        let mut total = 0u64;
        let mut number = String::new();
        for c in s.chars() {
            if c.is_ascii_digit() {
                number.push(c);
                continue;
            }
            let n: u64 = number.parse().map_err(|_| bad())?;
            number.clear();
            total += n * match c {
                'h' => 3600,
                'm' => 60,
                's' => 1,
                _ => return Err(bad()),
            };
        }
        if !number.is_empty() || s.is_empty() {
            return Err(bad());
        }
        Ok(if total == 0 {
            Self::Zero
        } else {
            Self::Seconds(total)
        })
    }
}

impl Serialize for KeepAlive {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        self.to_json().serialize(s)
    }
}

impl<'de> Deserialize<'de> for KeepAlive {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        match serde_json::Value::deserialize(d)? {
            serde_json::Value::Number(n) => Ok(match n.as_f64().unwrap_or(0.0) {
                x if x < 0.0 => Self::Forever,
                0.0 => Self::Zero,
                x => Self::Seconds(x.ceil() as u64),
            }),
            serde_json::Value::String(s) => s.parse().map_err(serde::de::Error::custom),
            other => Err(serde::de::Error::custom(format!(
                "keep-alive must be a number or a duration string, not {other}"
            ))),
        }
    }
}

/// Which runtime runs a model: Ollama (a server, models in VRAM) or the embedded llama.cpp
/// runtime (in-process, models in RAM). Each has its own budget under the same policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Runtime {
    Ollama,
    Embedded,
}

impl Runtime {
    /// The memory its models take.
    pub fn memory(self) -> &'static str {
        match self {
            Self::Ollama => "VRAM",
            Self::Embedded => "RAM",
        }
    }

    /// The variable that sets its budget.
    pub fn budget_var(self) -> &'static str {
        match self {
            Self::Ollama => "TELOS_VRAM_BUDGET",
            Self::Embedded => "TELOS_RAM_BUDGET",
        }
    }
}

impl fmt::Display for Runtime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Ollama => "ollama",
            Self::Embedded => "embedded",
        })
    }
}

/// What the scheduler knows of one persona: the model it thinks with, how long that model
/// should stay loaded, and how much it matters when VRAM is short (higher stays longer).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Persona {
    pub name: String,
    pub model: String,
    pub keep_alive: KeepAlive,
    pub priority: i32,
    /// The model's VRAM footprint: an estimate until Ollama reports `size_vram`.
    pub size: Bytes,
}

/// The default VRAM budget.
pub const DEFAULT_BUDGET: Bytes = Bytes(8 * GIB);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_in_every_unit_and_show_back() {
        for (input, bytes) in [
            ("8GiB", 8 << 30),
            ("8 GiB", 8 << 30),
            ("7.5GB", 7_500_000_000),
            ("512MiB", 512 << 20),
            ("4096", 4096),
        ] {
            assert_eq!(input.parse::<Bytes>().unwrap(), Bytes(bytes), "{input}");
        }
        assert!("8 parsecs".parse::<Bytes>().is_err());
        assert!("GiB".parse::<Bytes>().is_err());
        assert_eq!(Bytes::gib(8).to_string(), "8 GiB");
        assert_eq!(Bytes::gb(2.2).to_string(), "2.2 GB");
    }

    #[test]
    fn keep_alive_reads_ollamas_forms() {
        for (input, want) in [
            ("-1", KeepAlive::Forever),
            ("-1m", KeepAlive::Forever),
            ("0", KeepAlive::Zero),
            ("0s", KeepAlive::Zero),
            ("5m", KeepAlive::Seconds(300)),
            ("1h30m", KeepAlive::Seconds(5400)),
            ("45", KeepAlive::Seconds(45)),
        ] {
            assert_eq!(input.parse::<KeepAlive>().unwrap(), want, "{input}");
        }
        for bad in ["", "5x", "m", "five minutes"] {
            assert!(bad.parse::<KeepAlive>().is_err(), "{bad:?} parsed");
        }
        assert_eq!(KeepAlive::Seconds(300).to_json(), serde_json::json!("5m"));
        assert_eq!(KeepAlive::Forever.to_json(), serde_json::json!(-1));
        let back: KeepAlive = serde_json::from_str("\"5m\"").unwrap();
        assert_eq!(back, KeepAlive::Seconds(300));
    }
}
