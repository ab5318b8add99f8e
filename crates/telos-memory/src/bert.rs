//! MiniLM's BERT encoder, forward pass only, on the CPU: candle's tensors, embeddings and
//! matrix kernels (`gemm`), with the layers' own ops written here, each one pass over its
//! data split across the thread pool. A batch comes in as its texts' tokens end to end, no
//! padding: every op but attention works token by token, and attention keeps to each text.
//!
//! - **Attention.** Candle runs it as one small matrix product per (text, head) — 384 of them
//!   a layer, each too small to split across cores — plus a scale, a mask and a softmax over
//!   the padded square: over half the time of a batch of long chunks. Here every text is one
//!   task; each of its heads multiplies only the text's real tokens (padding is never
//!   attended to, so it is never computed: the same numbers the masked square gives),
//!   straight out of the fused query/key/value projection.
//! - **GELU.** Candle's calls an exact `erff` per element, a fifth of what was left after
//!   attention. PyTorch's CPU GELU (what the reference ran) computes erf by the
//!   Abramowitz–Stegun formula 7.1.26 (absolute error ≤ 1.5e-7); so do we.
//! - **Dense layers** write their bias into the output and let the matrix product add onto
//!   it, and **residual + layer norm** is one pass: candle makes a new tensor for each step.

use candle_core::{CpuStorage, CustomOp1, CustomOp3, Layout, Module, Result, Shape, Tensor};
use candle_nn::{Embedding, LayerNorm, VarBuilder, embedding, layer_norm};
use candle_transformers::models::bert::Config;
use rayon::prelude::*;

use crate::kernels;

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
    qkv: Dense,
    attention_out: Dense,
    attention_norm: AddNorm,
    intermediate: Dense,
    output: Dense,
    output_norm: AddNorm,
}

impl Bert {
    /// Loads sentence-transformers' BERT weights (`embeddings.*`, `encoder.layer.N.*`).
    pub fn load(vb: VarBuilder, config: &Config) -> Result<Self> {
        let h = config.hidden_size;
        let inter = config.intermediate_size;
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
                    qkv: Dense {
                        weight: Tensor::cat(&weights, 0)?,
                        bias: Tensor::cat(&biases, 0)?,
                    },
                    attention_out: Dense::load(h, h, a.pp("output.dense"))?,
                    attention_norm: AddNorm::load(h, eps, a.pp("output.LayerNorm"))?,
                    intermediate: Dense::load(h, inter, l.pp("intermediate.dense"))?,
                    output: Dense::load(inter, h, l.pp("output.dense"))?,
                    output_norm: AddNorm::load(h, eps, l.pp("output.LayerNorm"))?,
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

    /// The last hidden states, (tokens, hidden), of texts' token ids laid end to end (no
    /// padding): `positions` numbers each token within its text, and `lengths[i]` is how
    /// many tokens text i has.
    pub fn forward(&self, ids: &Tensor, positions: &Tensor, lengths: &[usize]) -> Result<Tensor> {
        let x = (self.word.forward(ids)? + self.token_type.forward(&ids.zeros_like()?)?)?;
        let mut x = (x + self.position.forward(positions)?)?;
        x = self.norm.forward(&x)?.contiguous()?;
        let attention = Attention {
            lengths: lengths.to_vec(),
            heads: self.heads,
        };
        for l in &self.layers {
            let context = l.qkv.forward(&x)?.apply_op1_no_bwd(&attention)?;
            let a = l
                .attention_norm
                .forward(&l.attention_out.forward(&context)?, &x)?;
            let i = l.intermediate.forward(&a)?.apply_op1_no_bwd(&Gelu)?;
            x = l.output_norm.forward(&l.output.forward(&i)?, &a)?;
        }
        Ok(x)
    }
}

/// The f32 values of a contiguous CPU tensor.
fn values<'a>(storage: &'a CpuStorage, layout: &Layout, op: &str) -> Result<&'a [f32]> {
    let CpuStorage::F32(v) = storage else {
        candle_core::bail!("{op}: f32 tensors only");
    };
    let Some((start, end)) = layout.contiguous_offsets() else {
        candle_core::bail!("{op}: contiguous tensors only");
    };
    Ok(&v[start..end])
}

/// A dense layer, `x · Wᵀ + b`.
struct Dense {
    /// (out, in)
    weight: Tensor,
    bias: Tensor,
}

impl Dense {
    fn load(input: usize, output: usize, vb: VarBuilder) -> Result<Self> {
        Ok(Self {
            weight: vb.get((output, input), "weight")?,
            bias: vb.get(output, "bias")?,
        })
    }

    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        x.apply_op3_no_bwd(&self.weight, &self.bias, &DenseOp)
    }
}

struct DenseOp;

impl CustomOp3 for DenseOp {
    fn name(&self) -> &'static str {
        "dense"
    }

    fn cpu_fwd(
        &self,
        xs: &CpuStorage,
        xl: &Layout,
        ws: &CpuStorage,
        wl: &Layout,
        bs: &CpuStorage,
        bl: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let (x, w, b) = (
            values(xs, xl, "dense")?,
            values(ws, wl, "dense")?,
            values(bs, bl, "dense")?,
        );
        let (out, input) = wl.shape().dims2()?;
        let mut dims = xl.shape().dims().to_vec();
        if dims.last() != Some(&input) || b.len() != out {
            candle_core::bail!("dense: input {dims:?} against weights ({out}, {input})");
        }
        let rows = x.len() / input;
        let mut y = Vec::with_capacity(rows * out);
        for _ in 0..rows {
            y.extend_from_slice(b);
        }
        // y = y + x · Wᵀ
        // SAFETY: x is rows × input, W is out × input (read transposed), y is rows × out.
        unsafe {
            gemm::gemm(
                rows,
                out,
                input,
                y.as_mut_ptr(),
                1,
                out as isize,
                true,
                x.as_ptr(),
                1,
                input as isize,
                w.as_ptr(),
                input as isize,
                1,
                1.0,
                1.0,
                false,
                false,
                false,
                gemm::Parallelism::Rayon(rayon::current_num_threads()),
            );
        }
        *dims.last_mut().expect("checked above") = out;
        Ok((CpuStorage::F32(y), Shape::from(dims)))
    }
}

/// Residual connection and layer norm: `LayerNorm(x + residual)`.
struct AddNorm {
    /// (2, hidden): the scale, then the shift.
    weights: Tensor,
    eps: f64,
}

impl AddNorm {
    fn load(hidden: usize, eps: f64, vb: VarBuilder) -> Result<Self> {
        let weights = Tensor::stack(&[vb.get(hidden, "weight")?, vb.get(hidden, "bias")?], 0)?;
        Ok(Self { weights, eps })
    }

    fn forward(&self, x: &Tensor, residual: &Tensor) -> Result<Tensor> {
        x.apply_op3_no_bwd(
            residual,
            &self.weights,
            &AddNormOp {
                eps: self.eps as f32,
            },
        )
    }
}

struct AddNormOp {
    eps: f32,
}

impl CustomOp3 for AddNormOp {
    fn name(&self) -> &'static str {
        "add-norm"
    }

    fn cpu_fwd(
        &self,
        xs: &CpuStorage,
        xl: &Layout,
        rs: &CpuStorage,
        rl: &Layout,
        ws: &CpuStorage,
        wl: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let (x, r, w) = (
            values(xs, xl, "add-norm")?,
            values(rs, rl, "add-norm")?,
            values(ws, wl, "add-norm")?,
        );
        let h = w.len() / 2;
        if xl.shape() != rl.shape() || xl.shape().dims().last() != Some(&h) {
            candle_core::bail!("add-norm: {:?} + {:?} over {h}", xl.shape(), rl.shape());
        }
        let (scale, shift) = w.split_at(h);
        let mut y = vec![0f32; x.len()];
        y.par_chunks_mut(h * 64)
            .zip(x.par_chunks(h * 64).zip(r.par_chunks(h * 64)))
            .for_each(|(y, (x, r))| {
                for ((y, x), r) in y.chunks_mut(h).zip(x.chunks(h)).zip(r.chunks(h)) {
                    for ((y, x), r) in y.iter_mut().zip(x).zip(r) {
                        *y = x + r;
                    }
                    let mean = y.iter().sum::<f32>() / h as f32;
                    let var = y.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / h as f32;
                    let inv = 1.0 / (var + self.eps).sqrt();
                    for ((y, a), b) in y.iter_mut().zip(scale).zip(shift) {
                        *y = (*y - mean) * inv * a + b;
                    }
                }
            });
        Ok((CpuStorage::F32(y), xl.shape().clone()))
    }
}

/// Scaled dot-product attention of every head over each text's own tokens. Takes `qkv`,
/// (tokens, 3 × hidden) with queries, keys and values side by side and the texts' tokens end
/// to end, `lengths[i]` of them for text i; gives (tokens, hidden) with the heads side by side.
struct Attention {
    lengths: Vec<usize>,
    heads: usize,
}

impl CustomOp1 for Attention {
    fn name(&self) -> &'static str {
        "attention"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> Result<(CpuStorage, Shape)> {
        let (tokens, width) = layout.shape().dims2()?;
        let (lengths, heads) = (&self.lengths, self.heads);
        let hidden = width / 3;
        let d = hidden / heads;
        if lengths.iter().sum::<usize>() != tokens || d * heads * 3 != width {
            candle_core::bail!(
                "attention: {tokens} tokens of width {width} as texts of {lengths:?}, {heads} heads"
            );
        }
        let qkv = values(storage, layout, "attention")?;
        let mut out = vec![0f32; tokens * hidden];
        let scale = 1.0 / (d as f32).sqrt();
        // Each text's rows of the input and of the output.
        let mut texts = Vec::with_capacity(lengths.len());
        let (mut out_rest, mut qkv_rest) = (out.as_mut_slice(), qkv);
        for &l in lengths {
            let (o, rest) = out_rest.split_at_mut(l * hidden);
            let (q, qrest) = qkv_rest.split_at(l * width);
            (out_rest, qkv_rest) = (rest, qrest);
            texts.push((o, q, l));
        }
        texts.into_par_iter().for_each(|(out, qkv, l)| {
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
                    kernels::softmax(row);
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
        Ok((CpuStorage::F32(out), Shape::from((tokens, hidden))))
    }
}

/// GELU, `x · (1 + erf(x / √2)) / 2`, with PyTorch's CPU erf, across the thread pool.
struct Gelu;

impl CustomOp1 for Gelu {
    fn name(&self) -> &'static str {
        "gelu-erf"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> Result<(CpuStorage, Shape)> {
        let mut out = values(storage, layout, "gelu")?.to_vec();
        out.par_chunks_mut(16 * 1024).for_each(kernels::gelu);
        Ok((CpuStorage::F32(out), layout.shape().clone()))
    }
}
