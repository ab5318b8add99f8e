//! MiniLM's BERT encoder, forward pass only, on the CPU: candle's embeddings, linear layers,
//! layer norms and GELU, with our own self-attention.
//!
//! Why our own attention: candle runs it as one small matrix product per (text, head) — 384
//! of them a layer, each too small to split across cores — plus a scale, a mask and a softmax
//! over the padded square. That was over half the time of a batch of long chunks. Here every
//! text is one task on the thread pool; each of its heads multiplies only the text's real
//! tokens (padding is never attended to, so it is never computed: the same numbers the
//! masked square gives), straight out of the fused query/key/value projection.
//!
//! And our own GELU: candle's calls an exact `erff` per element, which took a fifth of the
//! time left after attention. PyTorch's CPU GELU (what the reference ran) computes erf with
//! the Abramowitz–Stegun formula 7.1.26 (absolute error ≤ 1.5e-7); so do we, split across
//! the thread pool.

use candle_core::{CpuStorage, CustomOp1, DType, Layout, Module, Result, Shape, Tensor};
use candle_nn::{Embedding, LayerNorm, Linear, VarBuilder, embedding, layer_norm, linear};
use candle_transformers::models::bert::Config;
use rayon::prelude::*;

pub struct Bert {
    word: Embedding,
    position: Embedding,
    token_type: Embedding,
    norm: LayerNorm,
    layers: Vec<Layer>,
    heads: usize,
}

struct Layer {
    /// Query, key and value projections as one (3 × hidden, hidden) matrix.
    qkv: Linear,
    attention_out: Linear,
    attention_norm: LayerNorm,
    intermediate: Linear,
    output: Linear,
    output_norm: LayerNorm,
}

impl Bert {
    /// Loads sentence-transformers' BERT weights (`embeddings.*`, `encoder.layer.N.*`).
    pub fn load(vb: VarBuilder, config: &Config) -> Result<Self> {
        let h = config.hidden_size;
        let eps = config.layer_norm_eps;
        let e = vb.pp("embeddings");
        let layers = (0..config.num_hidden_layers)
            .map(|i| {
                let l = vb.pp(format!("encoder.layer.{i}"));
                let a = l.pp("attention");
                let parts = ["query", "key", "value"].map(|p| a.pp("self").pp(p));
                let weights = parts
                    .iter()
                    .map(|p| p.get((h, h), "weight"))
                    .collect::<Result<Vec<_>>>()?;
                let biases = parts
                    .iter()
                    .map(|p| p.get(h, "bias"))
                    .collect::<Result<Vec<_>>>()?;
                Ok(Layer {
                    qkv: Linear::new(Tensor::cat(&weights, 0)?, Some(Tensor::cat(&biases, 0)?)),
                    attention_out: linear(h, h, a.pp("output.dense"))?,
                    attention_norm: layer_norm(h, eps, a.pp("output.LayerNorm"))?,
                    intermediate: linear(h, config.intermediate_size, l.pp("intermediate.dense"))?,
                    output: linear(config.intermediate_size, h, l.pp("output.dense"))?,
                    output_norm: layer_norm(h, eps, l.pp("output.LayerNorm"))?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            word: embedding(config.vocab_size, h, e.pp("word_embeddings"))?,
            position: embedding(
                config.max_position_embeddings,
                h,
                e.pp("position_embeddings"),
            )?,
            token_type: embedding(config.type_vocab_size, h, e.pp("token_type_embeddings"))?,
            norm: layer_norm(h, eps, e.pp("LayerNorm"))?,
            layers,
            heads: config.num_attention_heads,
        })
    }

    /// The last hidden states, (texts, tokens, hidden), of token ids padded to one length;
    /// `lengths[i]` is how many of text i's tokens are real. Rows past a text's length are
    /// not meaningful (mean pooling over the mask ignores them).
    pub fn forward(&self, ids: &Tensor, lengths: &[usize]) -> Result<Tensor> {
        let (_, len) = ids.dims2()?;
        let positions = Tensor::arange(0u32, len as u32, ids.device())?;
        let mut x = (self.word.forward(ids)? + self.token_type.forward(&ids.zeros_like()?)?)?
            .broadcast_add(&self.position.forward(&positions)?)?;
        x = self.norm.forward(&x)?;
        for l in &self.layers {
            let context = attention(&l.qkv.forward(&x)?, lengths, self.heads)?;
            let a = l
                .attention_norm
                .forward(&(l.attention_out.forward(&context)? + &x)?)?;
            let i = l.intermediate.forward(&a)?.apply_op1_no_bwd(&Gelu)?;
            x = l.output_norm.forward(&(l.output.forward(&i)? + &a)?)?;
        }
        Ok(x)
    }
}

/// Scaled dot-product attention of every head over each text's real tokens. `qkv` is
/// (texts, tokens, 3 × hidden) with queries, keys and values side by side; the result is
/// (texts, tokens, hidden) with the heads side by side and zeros past each text's length.
fn attention(qkv: &Tensor, lengths: &[usize], heads: usize) -> Result<Tensor> {
    let (n, len, width) = qkv.dims3()?;
    let hidden = width / 3;
    let d = hidden / heads;
    if lengths.len() != n || lengths.iter().any(|&l| l > len) || d * heads != hidden {
        candle_core::bail!(
            "attention: {n} texts of {len} tokens, lengths {lengths:?}, {heads} heads of {width}/3"
        );
    }
    let qkv = qkv.to_dtype(DType::F32)?.flatten_all()?.to_vec1::<f32>()?;
    let mut out = vec![0f32; n * len * hidden];
    let scale = 1.0 / (d as f32).sqrt();
    out.par_chunks_mut(len * hidden)
        .zip(qkv.par_chunks(len * width))
        .zip(lengths.par_iter())
        .for_each(|((out, qkv), &l)| {
            let mut scores = vec![0f32; l * l];
            for h in 0..heads {
                let q = &qkv[h * d..];
                let k = &qkv[hidden + h * d..];
                let v = &qkv[2 * hidden + h * d..];
                // scores = scale · Q Kᵀ over the real tokens.
                // SAFETY: every index gemm touches is in bounds: rows < l ≤ len of
                // `width` (qkv) or `hidden` (out) floats, columns < d past a head offset
                // below hidden, and `scores` is l × l.
                unsafe {
                    gemm::gemm(
                        l,
                        l,
                        d,
                        scores.as_mut_ptr(),
                        1,
                        l as isize,
                        false,
                        q.as_ptr(),
                        1,
                        width as isize,
                        k.as_ptr(),
                        width as isize,
                        1,
                        0.0,
                        scale,
                        false,
                        false,
                        false,
                        gemm::Parallelism::None,
                    );
                }
                for row in scores.chunks_mut(l.max(1)) {
                    softmax(row);
                }
                // context = P V, into this head's columns.
                // SAFETY: as above.
                unsafe {
                    gemm::gemm(
                        l,
                        d,
                        l,
                        out[h * d..].as_mut_ptr(),
                        1,
                        hidden as isize,
                        false,
                        scores.as_ptr(),
                        1,
                        l as isize,
                        v.as_ptr(),
                        1,
                        width as isize,
                        0.0,
                        1.0,
                        false,
                        false,
                        false,
                        gemm::Parallelism::None,
                    );
                }
            }
        });
    Tensor::from_vec(out, (n, len, hidden), &candle_core::Device::Cpu)
}

fn softmax(row: &mut [f32]) {
    let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0.0;
    for x in row.iter_mut() {
        *x = (*x - max).exp();
        sum += *x;
    }
    let inv = 1.0 / sum;
    for x in row.iter_mut() {
        *x *= inv;
    }
}

/// GELU, `x · (1 + erf(x / √2)) / 2`, with PyTorch's CPU erf, across the thread pool.
struct Gelu;

impl CustomOp1 for Gelu {
    fn name(&self) -> &'static str {
        "gelu-erf"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> Result<(CpuStorage, Shape)> {
        let CpuStorage::F32(values) = storage else {
            candle_core::bail!("gelu: f32 tensors only");
        };
        let Some((start, end)) = layout.contiguous_offsets() else {
            candle_core::bail!("gelu: contiguous tensors only");
        };
        let mut out = values[start..end].to_vec();
        out.par_chunks_mut(16 * 1024).for_each(|chunk| {
            for x in chunk {
                *x = *x * 0.5 * (1.0 + erf(*x * std::f32::consts::FRAC_1_SQRT_2));
            }
        });
        Ok((CpuStorage::F32(out), layout.shape().clone()))
    }
}

/// erf by Abramowitz and Stegun 7.1.26, as PyTorch's `Vectorized<float>::erf` computes it.
fn erf(x: f32) -> f32 {
    const P: f32 = 0.327_591_1;
    const A: [f32; 5] = [
        0.254_829_6,
        -0.284_496_74,
        1.421_413_8,
        -1.453_152,
        1.061_405_4,
    ];
    let ax = x.abs();
    let t = 1.0 / (1.0 + P * ax);
    let poly = ((((A[4] * t + A[3]) * t + A[2]) * t + A[1]) * t + A[0]) * t;
    (1.0 - poly * (-ax * ax).exp()).copysign(x)
}

#[cfg(test)]
mod tests {
    #[test]
    fn erf_is_within_the_formulas_bound() {
        // Reference values of erf (to 10 digits).
        for (x, want) in [
            (0.0f32, 0.0f64),
            (0.1, 0.112_462_916_0),
            (0.5, 0.520_499_877_8),
            (1.0, 0.842_700_792_9),
            (-1.5, -0.966_105_146_5),
            (2.5, 0.999_593_047_9),
            (4.0, 0.999_999_984_6),
        ] {
            let got = f64::from(super::erf(x));
            assert!((got - want).abs() <= 3e-7, "erf({x}) = {got}, want {want}");
        }
    }
}
