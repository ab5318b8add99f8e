//! `Floats`: a hypervector's storage, a run of `f32` that starts on a 64-byte boundary (a cache
//! line, and one AVX-512 register). A kernel whose output lines start there writes each line
//! whole, which the CPU can do without first reading the line in; measured binding 10,000-
//! dimensional pairs from memory, AVX-512 stores into an aligned output made 1.25× as many
//! binds a second as AVX2's, and 0.75× into one 16 bytes off the boundary (`malloc`'s
//! alignment, which a `Vec<f32>` gets). The imaginary half starts on a line too when the
//! dimension is a multiple of 16 (the default 10,000 is); another dimension's second half
//! is written slower, not wrongly.

use std::mem::MaybeUninit;

/// Floats in a block: one cache line.
const BLOCK: usize = 16;

#[derive(Clone, Copy)]
#[repr(C, align(64))]
struct Block([f32; BLOCK]);

/// `len` floats at a 64-byte boundary; the last block's unused floats are zero.
#[derive(Clone)]
pub(crate) struct Floats {
    blocks: Vec<Block>,
    len: usize,
}

impl Floats {
    pub(crate) fn zeros(len: usize) -> Self {
        Self {
            blocks: vec![Block([0.0; BLOCK]); len.div_ceil(BLOCK)],
            len,
        }
    }

    pub(crate) fn from_slice(v: &[f32]) -> Self {
        // SAFETY: the closure writes each of the `v.len()` floats.
        unsafe {
            Self::written(v.len(), |out| {
                for (o, x) in out.iter_mut().zip(v) {
                    o.write(*x);
                }
            })
        }
    }

    /// `len` floats that `write` fills.
    ///
    /// # Safety
    /// `write` must write every one of the `len` floats it is given (the rest would be read
    /// uninitialised).
    pub(crate) unsafe fn written(len: usize, write: impl FnOnce(&mut [MaybeUninit<f32>])) -> Self {
        let n = len.div_ceil(BLOCK);
        let mut blocks: Vec<Block> = Vec::with_capacity(n);
        let spare = &mut blocks.spare_capacity_mut()[..n];
        // SAFETY: a block is 16 floats with no padding (repr C), so `n` uninitialised blocks
        // are `16 n` uninitialised floats.
        let floats = unsafe {
            std::slice::from_raw_parts_mut(spare.as_mut_ptr().cast::<MaybeUninit<f32>>(), n * BLOCK)
        };
        let (body, tail) = floats.split_at_mut(len);
        write(body);
        tail.iter_mut().for_each(|t| {
            t.write(0.0);
        });
        // SAFETY: `write` initialised the first `len` floats (its contract) and the rest were
        // just zeroed, so all `n` blocks are initialised.
        unsafe { blocks.set_len(n) };
        Self { blocks, len }
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn as_slice(&self) -> &[f32] {
        // SAFETY: the blocks hold at least `len` initialised floats, laid out contiguously.
        unsafe { std::slice::from_raw_parts(self.blocks.as_ptr().cast::<f32>(), self.len) }
    }

    pub(crate) fn as_mut_slice(&mut self) -> &mut [f32] {
        // SAFETY: as in `as_slice`, borrowed mutably through `self`.
        unsafe { std::slice::from_raw_parts_mut(self.blocks.as_mut_ptr().cast::<f32>(), self.len) }
    }

    /// The floats as outputs for a kernel that overwrites every element.
    ///
    /// # Safety
    /// Only initialised floats may be written into them (writing `MaybeUninit::uninit()`
    /// would leave them uninitialised).
    pub(crate) unsafe fn as_uninit(&mut self) -> &mut [MaybeUninit<f32>] {
        let v = self.as_mut_slice();
        // SAFETY: MaybeUninit<f32> has f32's layout, and the caller writes only initialised
        // floats into it (this function's contract), so the floats stay initialised.
        unsafe { &mut *(v as *mut [f32] as *mut [MaybeUninit<f32>]) }
    }
}

impl PartialEq for Floats {
    fn eq(&self, other: &Self) -> bool {
        self.as_slice() == other.as_slice()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_start_on_a_cache_line_and_keep_their_values() {
        for len in [0, 1, 15, 16, 17, 20_000] {
            let v: Vec<f32> = (0..len).map(|i| i as f32 * 0.5).collect();
            let f = Floats::from_slice(&v);
            assert_eq!(f.as_slice(), &v[..]);
            assert_eq!(f.len(), len);
            assert_eq!(f.as_slice().as_ptr() as usize % 64, 0, "len {len}");
            assert_eq!(f.clone().as_slice().as_ptr() as usize % 64, 0);
            assert_eq!(Floats::zeros(len).as_slice(), &vec![0.0; len][..]);
        }
    }
}
