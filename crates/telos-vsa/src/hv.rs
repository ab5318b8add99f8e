//! `Hv`, one FHRR hypervector: `dim` complex components kept as two halves, every real part
//! then every imaginary part, so the whole is also a real vector of `2 × dim` floats whose
//! dot product is the complex inner product's real part — the vector the cleanup memory
//! indexes, unchanged.

use std::mem::MaybeUninit;

use crate::floats::Floats;
use crate::kernel;

/// One hypervector. Atoms and stored symbols are unit phasors (every component of magnitude
/// one); a bundle summed with [`crate::BundleRule::Sum`] is not.
#[derive(Clone, PartialEq)]
pub struct Hv {
    v: Floats,
}

impl std::fmt::Debug for Hv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Hv(dim {}, ", self.dim())?;
        f.debug_list()
            .entries(self.v.as_slice().iter().take(4))
            .finish()?;
        write!(f, "…)")
    }
}

/// A slice of floats that is not a hypervector's layout.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a hypervector is 2 × its dimension floats (real parts, then imaginary parts); got {len}")]
pub struct BadLength {
    pub len: usize,
}

impl Hv {
    /// The zero vector (the empty bundle), dimension `dim`.
    pub fn zeros(dim: usize) -> Self {
        Self {
            v: Floats::zeros(2 * dim),
        }
    }

    /// The unit phasor vector with these phases (radians).
    pub fn from_phases(phases: &[f32]) -> Self {
        // SAFETY: the closure writes every element of both halves.
        unsafe {
            Hv::written(phases.len(), |re, im| {
                for ((r, i), p) in re.iter_mut().zip(im).zip(phases) {
                    r.write(p.cos());
                    i.write(p.sin());
                }
            })
        }
    }

    /// Takes a vector in this layout (real parts, then imaginary parts), as the cleanup
    /// memory stores it (copied into storage that starts on a cache line).
    pub fn from_vec(v: Vec<f32>) -> Result<Self, BadLength> {
        if !v.len().is_multiple_of(2) || v.is_empty() {
            return Err(BadLength { len: v.len() });
        }
        Ok(Self {
            v: Floats::from_slice(&v),
        })
    }

    pub fn dim(&self) -> usize {
        self.v.len() / 2
    }

    /// The `2 × dim` floats: real parts, then imaginary parts.
    pub fn as_slice(&self) -> &[f32] {
        self.v.as_slice()
    }

    pub fn into_vec(self) -> Vec<f32> {
        self.v.as_slice().to_vec()
    }

    pub fn re(&self) -> &[f32] {
        &self.as_slice()[..self.dim()]
    }

    pub fn im(&self) -> &[f32] {
        &self.as_slice()[self.dim()..]
    }

    /// A vector of `dim` whose halves `write` fills.
    ///
    /// # Safety
    /// `write` must write every element of both halves (the kernels passed here write each
    /// index once).
    pub(crate) unsafe fn written(
        dim: usize,
        write: impl FnOnce(&mut [MaybeUninit<f32>], &mut [MaybeUninit<f32>]),
    ) -> Hv {
        Hv {
            // SAFETY: `write` writes both halves whole (this function's contract), which are
            // all `2 × dim` floats.
            v: unsafe {
                Floats::written(2 * dim, |v| {
                    let (re, im) = v.split_at_mut(dim);
                    write(re, im);
                })
            },
        }
    }

    fn halves_mut(&mut self) -> (&mut [f32], &mut [f32]) {
        let d = self.dim();
        self.v.as_mut_slice().split_at_mut(d)
    }

    /// The phase of each component, in (−π, π].
    pub fn phases(&self) -> Vec<f32> {
        self.re()
            .iter()
            .zip(self.im())
            .map(|(r, i)| i.atan2(*r))
            .collect()
    }

    fn same_dim(&self, other: &Hv, op: &str) {
        assert_eq!(
            self.dim(),
            other.dim(),
            "{op} of hypervectors of dimensions {} and {}",
            self.dim(),
            other.dim()
        );
    }

    /// Binding (`*`): component-wise complex product, so phases add. The result is
    /// quasi-orthogonal to both factors, and `a.bind(b).unbind(b) == a` for unit phasors.
    ///
    /// # Panics
    /// If the dimensions differ (the query evaluator checks them first).
    pub fn bind(&self, other: &Hv) -> Hv {
        self.same_dim(other, "bind");
        // SAFETY: the closure writes every element of both halves.
        unsafe {
            Hv::written(self.dim(), |o_re, o_im| {
                kernel::bind(self.re(), self.im(), other.re(), other.im(), o_re, o_im)
            })
        }
    }

    /// Unbinding (`/`): the product with `other`'s conjugate, so phases subtract — the exact
    /// inverse of [`Hv::bind`] when `other` is a unit phasor vector, and an approximate one
    /// otherwise.
    ///
    /// # Panics
    /// If the dimensions differ.
    pub fn unbind(&self, other: &Hv) -> Hv {
        self.same_dim(other, "unbind");
        // SAFETY: the closure writes every element of both halves.
        unsafe {
            Hv::written(self.dim(), |o_re, o_im| {
                kernel::unbind(self.re(), self.im(), other.re(), other.im(), o_re, o_im)
            })
        }
    }

    /// [`Hv::bind`] into `out`, whose allocation is reused (loops that bind many pairs).
    ///
    /// # Panics
    /// If the three dimensions are not the same.
    pub fn bind_into(&self, other: &Hv, out: &mut Hv) {
        self.same_dim(other, "bind");
        self.same_dim(out, "bind");
        // SAFETY: the kernel writes finished floats into every element.
        let (o_re, o_im) = unsafe { out.halves_uninit() };
        kernel::bind(self.re(), self.im(), other.re(), other.im(), o_re, o_im);
    }

    /// [`Hv::unbind`] into `out`, whose allocation is reused.
    ///
    /// # Panics
    /// If the three dimensions are not the same.
    pub fn unbind_into(&self, other: &Hv, out: &mut Hv) {
        self.same_dim(other, "unbind");
        self.same_dim(out, "unbind");
        // SAFETY: the kernel writes finished floats into every element.
        let (o_re, o_im) = unsafe { out.halves_uninit() };
        kernel::unbind(self.re(), self.im(), other.re(), other.im(), o_re, o_im);
    }

    /// Both halves, for a kernel that overwrites every element.
    ///
    /// # Safety
    /// Only initialised floats may be written into them.
    unsafe fn halves_uninit(&mut self) -> (&mut [MaybeUninit<f32>], &mut [MaybeUninit<f32>]) {
        let d = self.dim();
        // SAFETY: this function's caller writes only initialised floats (its contract).
        unsafe { self.v.as_uninit() }.split_at_mut(d)
    }

    /// Permutation: the components rotated `by` places (negative rotates back), a
    /// quasi-orthogonal copy used to mark order (`permute(x, 1)` is "x in first place").
    pub fn permute(&self, by: isize) -> Hv {
        let d = self.dim();
        let k = by.rem_euclid(d as isize) as usize;
        // SAFETY: the closure writes every element of both halves.
        unsafe {
            Hv::written(d, |re, im| {
                for (half, out) in [(self.re(), re), (self.im(), im)] {
                    let (front, back) = out.split_at_mut(k);
                    for (o, x) in front.iter_mut().zip(&half[d - k..]) {
                        o.write(*x);
                    }
                    for (o, x) in back.iter_mut().zip(&half[..d - k]) {
                        o.write(*x);
                    }
                }
            })
        }
    }

    /// Cosine similarity: the real part of the complex inner product over both norms; 1 for
    /// the same vector, about 0 (±1/√(2·dim)) for unrelated ones, 0 when either is zero.
    ///
    /// # Panics
    /// If the dimensions differ.
    pub fn similarity(&self, other: &Hv) -> f32 {
        self.same_dim(other, "similarity");
        let n = (self.norm2() * other.norm2()).sqrt();
        if n == 0.0 {
            return 0.0;
        }
        kernel::dot(self.as_slice(), other.as_slice()) / n
    }

    /// Σ |component|², `dim` for a unit phasor vector.
    pub fn norm2(&self) -> f32 {
        kernel::dot(self.as_slice(), self.as_slice())
    }

    /// Every component scaled to magnitude one (phases kept): what a stored symbol is.
    pub fn to_phasors(mut self) -> Hv {
        let (re, im) = self.halves_mut();
        kernel::to_phasors(re, im);
        self
    }

    /// Adds `w · other` in place (the bundle's accumulation).
    pub(crate) fn add_scaled(&mut self, other: &Hv, w: f32) {
        self.same_dim(other, "bundle");
        kernel::add_scaled(self.v.as_mut_slice(), other.as_slice(), w);
    }

    /// Adds four vectors in place, in one pass.
    pub(crate) fn add4(&mut self, xs: [&Hv; 4]) {
        for x in xs {
            self.same_dim(x, "bundle");
        }
        let [a, b, c, d] = xs.map(Hv::as_slice);
        kernel::add4(self.v.as_mut_slice(), a, b, c, d);
    }
}
