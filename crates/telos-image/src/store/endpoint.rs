//! Where the image lives, and how the embedded engine is tuned.

use crate::error::{Error, Result};

/// Where the image lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// Embedded SurrealKV in a directory: durable, fsync on every commit.
    SurrealKv { path: std::path::PathBuf },
    /// Embedded in memory: for tests, gone at exit.
    Memory,
    /// A SurrealDB server (`ws://` or `wss://`), for images that outgrow one machine.
    Remote { url: String },
}

impl Endpoint {
    /// Parses `surrealkv://PATH`, `mem://` or `ws[s]://HOST[:PORT]`.
    pub fn parse(text: &str) -> Result<Self> {
        let invalid = |reason: &str| Error::InvalidEndpoint {
            endpoint: text.to_owned(),
            reason: reason.to_owned(),
        };
        let (scheme, rest) = text
            .split_once("://")
            .ok_or_else(|| invalid("expected SCHEME://…, e.g. surrealkv:///path or mem://"))?;
        match scheme {
            "surrealkv" if rest.is_empty() => Err(invalid("surrealkv:// needs a path")),
            "surrealkv" if rest.contains('?') => Err(invalid(
                "options in the URL are not supported; Telos sets them",
            )),
            "surrealkv" => Ok(Self::SurrealKv { path: rest.into() }),
            "mem" | "memory" if rest.is_empty() => Ok(Self::Memory),
            "mem" | "memory" => Err(invalid("mem:// takes no path")),
            "ws" | "wss" if rest.is_empty() => Err(invalid("a server URL needs a host")),
            "ws" | "wss" => Ok(Self::Remote {
                url: text.to_owned(),
            }),
            _ => Err(invalid("the scheme must be surrealkv, mem, ws or wss")),
        }
    }

    /// Refuses to send credentials in clear text: a `ws://` server that is not on this
    /// machine (loopback) gets them only when the user said so (`allow_cleartext`,
    /// `TELOS_DB_ALLOW_CLEARTEXT=1`); `wss://` and loopback always may.
    pub fn check_credentials(&self, options: &StoreOptions) -> Result<()> {
        let Self::Remote { url } = self else {
            return Ok(());
        };
        let Some(rest) = url.strip_prefix("ws://") else {
            return Ok(());
        };
        if options.remote_user.is_none() || options.allow_cleartext || is_loopback(rest) {
            return Ok(());
        }
        Err(Error::InvalidEndpoint {
            endpoint: url.clone(),
            reason: "credentials would cross the network in clear text: use wss://, or set \
                     TELOS_DB_ALLOW_CLEARTEXT=1 if this network is yours"
                .into(),
        })
    }

    /// True when this process is the image's only writer, so the in-memory view stays exact.
    pub fn is_embedded(&self) -> bool {
        !matches!(self, Self::Remote { .. })
    }
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::SurrealKv { path } => write!(f, "surrealkv://{}", path.display()),
            Self::Memory => f.write_str("mem://"),
            Self::Remote { url } => f.write_str(url),
        }
    }
}

/// Whether the host of `HOST[:PORT][/…]` is this machine: `localhost`, 127.0.0.0/8 or `[::1]`.
fn is_loopback(authority_and_path: &str) -> bool {
    let authority = authority_and_path
        .split(['/', '?'])
        .next()
        .unwrap_or_default();
    let authority = authority.rsplit('@').next().unwrap_or_default();
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => authority.split(':').next().unwrap_or_default(),
    };
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// The database an image lives in on a server, unless `TELOS_DB_NAME` says otherwise.
pub const DATABASE: &str = "image";

/// Cycle records a store keeps by default (`TELOS_HISTORY_KEEP`).
pub const DEFAULT_HISTORY_KEEP: usize = 20_000;

/// Tuning of the embedded engine.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// SurrealKV's block cache (its default is about half of RAM).
    pub block_cache_bytes: u64,
    /// SurrealKV's memtable; also the largest single transaction (cycle) it accepts, and what
    /// sets how much the data dir holds beyond the live data: up to about five memtables'
    /// worth of older versions wait for compaction.
    pub memtable_bytes: u64,
    /// Credentials for a remote server, if it wants them.
    pub remote_user: Option<(String, String)>,
    /// The user allows credentials over `ws://` to a server not on this machine.
    pub allow_cleartext: bool,
    /// The database on a server that holds this image (`TELOS_DB_NAME`, default `image`):
    /// several images may share one server, each in its own database.
    pub database: String,
    /// Cycle records kept: past this many, the oldest settled ones (committed, or aborted
    /// and not waiting to be resumed) are deleted; a suspended cycle stays until resolved.
    pub history_keep: usize,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            block_cache_bytes: 64 * 1024 * 1024,
            memtable_bytes: 128 * 1024 * 1024,
            remote_user: None,
            allow_cleartext: false,
            database: DATABASE.to_owned(),
            history_keep: DEFAULT_HISTORY_KEEP,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_parse_and_name_what_is_wrong() {
        let kv = |p: &str| Endpoint::SurrealKv { path: p.into() };
        let remote = |u: &str| Endpoint::Remote { url: u.into() };
        let good = [
            ("mem://", Endpoint::Memory),
            ("memory://", Endpoint::Memory),
            ("surrealkv:///var/telos/image", kv("/var/telos/image")),
            ("surrealkv://relative/dir", kv("relative/dir")),
            ("ws://db.example:8000", remote("ws://db.example:8000")),
            ("wss://db.example", remote("wss://db.example")),
        ];
        for (text, want) in good {
            let got = Endpoint::parse(text).unwrap();
            assert_eq!(got, want, "{text}");
            assert_eq!(
                got.to_string(),
                text.replace("memory://", "mem://"),
                "{text} shown back"
            );
            assert_eq!(got.is_embedded(), !text.starts_with("ws"), "{text}");
        }
        let bad = [
            ("", "expected SCHEME://"),
            ("/plain/path", "expected SCHEME://"),
            ("surrealkv://", "needs a path"),
            (
                "surrealkv:///x?sync=never",
                "options in the URL are not supported",
            ),
            ("mem://x", "takes no path"),
            ("ws://", "needs a host"),
            (
                "rocksdb:///x",
                "the scheme must be surrealkv, mem, ws or wss",
            ),
        ];
        for (text, reason) in bad {
            let err = Endpoint::parse(text).unwrap_err().to_string();
            assert!(err.contains(&format!("'{text}'")), "{err}");
            assert!(err.contains(reason), "{text}: {err}");
        }
    }

    #[test]
    fn credentials_cross_the_network_only_encrypted_unless_the_user_says_so() {
        let with_user = StoreOptions {
            remote_user: Some(("root".into(), "secret".into())),
            ..StoreOptions::default()
        };
        let check =
            |url: &str, o: &StoreOptions| Endpoint::parse(url).unwrap().check_credentials(o);
        for fine in [
            "wss://db.example:8000",
            "ws://127.0.0.1:8000",
            "ws://127.3.4.5",
            "ws://localhost:8000/rpc",
            "ws://[::1]:8000",
        ] {
            assert!(check(fine, &with_user).is_ok(), "{fine}");
        }
        for refused in [
            "ws://db.example:8000",
            "ws://10.0.0.5",
            "ws://[2001:db8::1]:8000",
        ] {
            let err = check(refused, &with_user).unwrap_err().to_string();
            assert!(err.contains(refused) && err.contains("clear text"), "{err}");
            // Without credentials there is nothing to protect; when the user allows it, sent.
            assert!(check(refused, &StoreOptions::default()).is_ok());
            let allowed = StoreOptions {
                allow_cleartext: true,
                ..with_user.clone()
            };
            assert!(check(refused, &allowed).is_ok());
        }
    }
}
