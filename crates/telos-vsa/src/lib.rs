//! Vector-symbolic algebra for Telos's memory: FHRR (Fourier holographic reduced
//! representation, Plate 1994) hypervectors. A hypervector is `dim` unit complex numbers;
//! binding multiplies them component-wise (phases add), unbinding multiplies by the conjugate
//! (phases subtract, exactly undoing a bind), bundling adds, permuting rotates. Random atoms
//! are quasi-orthogonal (similarity about ±1/√(2·dim)), so a bundle of role–filler pairs can
//! be unbound by a role and cleaned up, by nearest neighbour among the known symbols, to its
//! filler — the cleanup memory is Telos's LanceDB index (in `telos-memory`).
//!
//! Pure: no I/O, no async, no image. Hot loops are in `kernel.rs`.

mod atom;
mod bundle;
mod expr;
mod floats;
mod hv;
mod kernel;
#[cfg(test)]
mod tests;

pub use atom::seed;
pub use bundle::{Bundle, BundleRule, bundle};
pub use expr::{EvalError, Expr, ParseError};
pub use hv::{BadLength, Hv};

/// The dimension Telos uses unless told otherwise (`TELOS_VSA_DIM`).
pub const DEFAULT_DIM: usize = 10_000;

/// Σ a·b over two float slices of the same length (vectorised): the dot product of two
/// hypervectors' `as_slice()`s, or of one and a row read back from the cleanup memory.
///
/// # Panics
/// If the lengths differ.
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(
        a.len(),
        b.len(),
        "dot of {} and {} floats",
        a.len(),
        b.len()
    );
    kernel::dot(a, b)
}

/// The standard deviation of the similarity of two unrelated hypervectors of dimension
/// `dim`: 1/√(2·dim) (0.0071 at 10,000).
pub fn noise(dim: usize) -> f32 {
    1.0 / (2.0 * dim as f32).sqrt()
}
