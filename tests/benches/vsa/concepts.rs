//! Concepts on a labelled corpus (`benches/concept_corpus.py`: docstrings of the Python
//! standard library on this machine, each labelled by its package): every document
//! remembered by the product's path (one cycle each, its chunks growing concepts), the naming
//! BABS would be asked for after each document counted (and done with a placeholder name,
//! so the renaming policy runs), then a regrouping. Purity and NMI of the concepts against
//! the labels, beside k-means on the same embeddings (k = the number of labels, and k = the
//! number of concepts), and model calls per document.

use std::collections::HashMap;
use std::time::Instant;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use telos_image::ObjectId;
use telos_memory::{Memory, MemoryConfig, MiniLm};

/// Documents in a full run.
const DOCUMENTS: usize = 1200;

pub fn run(scale: f64) {
    let n = ((DOCUMENTS as f64 * scale) as usize).max(200);
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/concept_corpus.py");
    let out = std::process::Command::new("python3")
        .args([script, &n.to_string()])
        .output()
        .expect("python3 runs the corpus script");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let docs: Vec<(String, String)> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("a JSON line");
            (
                v["label"].as_str().unwrap().to_owned(),
                v["text"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let rt = tokio::runtime::Runtime::new().expect("a runtime");
    rt.block_on(measure(docs));
}

async fn measure(docs: Vec<(String, String)>) {
    let labels: Vec<String> = {
        let mut l: Vec<String> = docs.iter().map(|(l, _)| l.clone()).collect();
        l.sort();
        l.dedup();
        l
    };
    println!(
        "\n== concepts: {} documents, {} labels (docstrings of the standard library by package)",
        docs.len(),
        labels.len()
    );
    let dir = tempfile::tempdir().expect("temp dir");
    let image = telos_tests::awake_in_memory().await;
    let mut config = MemoryConfig::new(dir.path().join("memory"));
    let model = std::sync::Arc::new(MiniLm::load_default().expect("weights: run scripts/setup"));
    config.embedder = std::sync::Arc::new(move || Ok(model.clone()));
    let memory = Memory::open(image.clone(), config).await.expect("memory");
    let babs = image.resolve("BABS").expect("BABS").id.clone();
    let files = dir.path().join("docs");
    std::fs::create_dir_all(&files).unwrap();
    let t = Instant::now();
    let mut calls = 0usize;
    for (i, (label, text)) in docs.iter().enumerate() {
        let path = files.join(format!("{i:05}-{label}.txt"));
        std::fs::write(&path, text).unwrap();
        memory
            .ingest_file(&babs, &path, &|_| {})
            .await
            .expect("ingest");
        // what BABS would be asked now: one call per concept to name
        for todo in memory.concepts_to_name(Some(&babs)) {
            calls += 1;
            let definition = todo.excerpts.first().cloned().unwrap_or_default();
            memory
                .name_concept(&todo.id, &format!("c{calls}"), &definition)
                .await
                .expect("naming");
        }
    }
    let took = t.elapsed().as_secs_f64();
    let (ids, vectors, truth) = chunks(&memory, &babs, &labels).await;
    let grown = assignment(&memory, &babs, &ids);
    let concepts = memory.concepts(Some(&babs)).len();
    println!(
        "  remembered in {took:.1} s ({:.0} ms per document, naming included); {} chunks",
        took * 1e3 / docs.len() as f64,
        ids.len()
    );
    println!(
        "  model calls per document: {:.3} ({calls} namings for {} documents)",
        calls as f64 / docs.len() as f64,
        docs.len()
    );
    let t = Instant::now();
    let rebuilt = memory.rebuild_concepts(&babs).await.expect("regroup");
    let regroup_s = t.elapsed().as_secs_f64();
    let regrouped = assignment(&memory, &babs, &ids);
    let k_labels = kmeans(&vectors, labels.len(), 7);
    let k_concepts = kmeans(&vectors, concepts.min(vectors.len()), 7);
    println!(
        "  {:<34} {:>8} {:>7} {:>7}",
        "grouping", "groups", "purity", "NMI"
    );
    let line = |name: &str, a: &[usize]| {
        let (p, nmi) = scores(a, &truth);
        let groups = {
            let mut g = a.to_vec();
            g.sort_unstable();
            g.dedup();
            g.len()
        };
        println!("  {name:<34} {groups:>8} {p:>7.3} {nmi:>7.3}");
        (p, nmi)
    };
    let (_, nmi_grown) = line("concepts, grown incrementally", &grown);
    let (_, nmi_regrouped) = line(
        &format!("concepts, regrouped ({regroup_s:.1} s)"),
        &regrouped,
    );
    let (_, nmi_k) = line(
        &format!("k-means, k = labels ({})", labels.len()),
        &k_labels,
    );
    line(&format!("k-means, k = concepts ({concepts})"), &k_concepts);
    println!(
        "  regrouping: {} unchanged, {} changed, {} new, {} removed, {} alone",
        rebuilt.unchanged, rebuilt.changed, rebuilt.made, rebuilt.removed, rebuilt.alone
    );
    println!(
        "  NMI against k-means (k = labels): grown {:.2}×, regrouped {:.2}× ({})",
        nmi_grown / nmi_k,
        nmi_regrouped / nmi_k,
        super::verdict(nmi_regrouped >= nmi_k)
    );
}

/// Every chunk of the persona: ids, vectors, and its document's label (as an index).
async fn chunks(
    memory: &Memory,
    persona: &ObjectId,
    labels: &[String],
) -> (Vec<String>, Vec<Vec<f32>>, Vec<usize>) {
    let mut rows = memory
        .store()
        .persona_vectors(persona.as_str())
        .await
        .expect("vectors");
    rows.sort_by(|a, b| a.chunk_id.cmp(&b.chunk_id));
    let image = memory.image();
    let mut truth = Vec::new();
    for r in &rows {
        let doc = image.resolve(&r.document).expect("document");
        let source = doc.slots["source"].as_str().unwrap().to_owned();
        let name = std::path::Path::new(&source)
            .file_stem()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let label = name.split_once('-').unwrap().1.to_owned();
        truth.push(labels.iter().position(|l| *l == label).expect("a label"));
    }
    let ids = rows.iter().map(|r| r.chunk_id.clone()).collect();
    (ids, rows.into_iter().map(|r| r.vector).collect(), truth)
}

/// Each chunk's concept, as an index (a chunk in none gets a group of its own).
fn assignment(memory: &Memory, persona: &ObjectId, ids: &[String]) -> Vec<usize> {
    let mut of: HashMap<String, usize> = HashMap::new();
    for (g, c) in memory.concepts(Some(persona)).iter().enumerate() {
        let d = memory.concept(&ObjectId::parse(&c.id).unwrap()).unwrap();
        for ch in d.chunks {
            of.insert(ch.id, g);
        }
    }
    let mut next = of.len() + 1_000_000;
    ids.iter()
        .map(|id| {
            of.get(id).copied().unwrap_or_else(|| {
                next += 1;
                next
            })
        })
        .collect()
}

/// Purity and normalised mutual information (arithmetic mean) of `a` against `truth`.
fn scores(a: &[usize], truth: &[usize]) -> (f64, f64) {
    let n = a.len() as f64;
    let mut joint: HashMap<(usize, usize), f64> = HashMap::new();
    let (mut pa, mut pt): (HashMap<usize, f64>, HashMap<usize, f64>) = Default::default();
    for (&x, &y) in a.iter().zip(truth) {
        *joint.entry((x, y)).or_default() += 1.0;
        *pa.entry(x).or_default() += 1.0;
        *pt.entry(y).or_default() += 1.0;
    }
    let mut best: HashMap<usize, f64> = HashMap::new();
    for (&(x, _), &c) in &joint {
        let b = best.entry(x).or_default();
        *b = b.max(c);
    }
    let purity = best.values().sum::<f64>() / n;
    let entropy =
        |m: &HashMap<usize, f64>| -> f64 { m.values().map(|&c| -(c / n) * (c / n).ln()).sum() };
    let mi: f64 = joint
        .iter()
        .map(|(&(x, y), &c)| (c / n) * ((c * n) / (pa[&x] * pt[&y])).ln())
        .sum();
    let (ha, ht) = (entropy(&pa), entropy(&pt));
    let nmi = if ha + ht == 0.0 {
        1.0
    } else {
        2.0 * mi / (ha + ht)
    };
    (purity, nmi)
}

/// Spherical k-means (cosine), seeded by k-means++: the baseline.
fn kmeans(points: &[Vec<f32>], k: usize, seed: u64) -> Vec<usize> {
    let unit: Vec<Vec<f32>> = points
        .iter()
        .map(|p| {
            let n = p.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-12);
            p.iter().map(|x| x / n).collect()
        })
        .collect();
    // the optimised kernel: this crate is built unoptimised
    let dot = telos_vsa::dot;
    let mut rng = StdRng::seed_from_u64(seed);
    // k-means++: each point's squared distance to its nearest centre so far, brought up to
    // date with each new centre only
    let mut centres = vec![unit[rng.random_range(0..unit.len())].clone()];
    let far = |p: &[f32], c: &[f32]| (1.0 - dot(p, c)).max(0.0).powi(2);
    let mut d: Vec<f32> = unit.iter().map(|p| far(p, &centres[0])).collect();
    while centres.len() < k {
        let total: f32 = d.iter().sum();
        let mut at = rng.random_range(0.0..total.max(f32::MIN_POSITIVE));
        let pick = d
            .iter()
            .position(|&x| {
                at -= x;
                at <= 0.0
            })
            .unwrap_or(unit.len() - 1);
        let centre = unit[pick].clone();
        for (dp, p) in d.iter_mut().zip(&unit) {
            *dp = dp.min(far(p, &centre));
        }
        centres.push(centre);
    }
    let mut assign = vec![0; unit.len()];
    for _ in 0..50 {
        let next: Vec<usize> = unit
            .iter()
            .map(|p| {
                (0..k)
                    .map(|c| (dot(p, &centres[c]), c))
                    .max_by(|a, b| a.0.total_cmp(&b.0))
                    .unwrap()
                    .1
            })
            .collect();
        let done = next == assign;
        assign = next;
        for (c, centre) in centres.iter_mut().enumerate() {
            let mut sum = vec![0.0f32; centre.len()];
            for (p, _) in unit.iter().zip(&assign).filter(|(_, a)| **a == c) {
                sum.iter_mut().zip(p).for_each(|(s, x)| *s += x);
            }
            let n = sum.iter().map(|x| x * x).sum::<f32>().sqrt();
            if n > 0.0 {
                *centre = sum.into_iter().map(|x| x / n).collect();
            }
        }
        if done {
            break;
        }
    }
    assign
}
