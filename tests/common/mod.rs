//! Helpers shared by the cross-crate tests, the crash test's child and the benchmarks.

use std::path::Path;

use serde_json::Value;
use telos_core::{Config, Telos};
use telos_image::{Image, Object};

/// Opens Telos on embedded SurrealKV in `dir`, as the product does.
pub async fn open_on_disk(dir: &Path) -> Telos {
    Telos::open(Config::from_data_dir(dir))
        .await
        .unwrap_or_else(|e| panic!("opening {}: {e}", dir.display()))
}

/// A fresh awakened in-memory image.
pub async fn awake_in_memory() -> Image {
    let image = Image::in_memory().await.expect("in-memory image");
    telos_image::genesis::awaken(&image)
        .await
        .expect("awakening");
    image
}

/// Every object of the image, serialised: two snapshots are equal only if the images are.
pub fn snapshot(image: &Image) -> Vec<String> {
    image
        .objects()
        .iter()
        .map(|o| serde_json::to_string(&**o).expect("objects serialise"))
        .collect()
}

/// A slot the object holds itself, or panics naming what is missing.
pub fn slot(object: &Object, name: &str) -> Value {
    object
        .slots
        .get(name)
        .cloned()
        .unwrap_or_else(|| panic!("{} has no slot '{name}'", object.name))
}
