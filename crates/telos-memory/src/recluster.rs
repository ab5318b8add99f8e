//! Re-clustering a persona's concepts. Growth one chunk at a time (`concepts.rs`) depends on
//! the order documents came in and leaves near-twins and singletons; this pass groups all of
//! the persona's chunks again with HDBSCAN (petal-clustering, on unit vectors, where
//! Euclidean distance ranks as cosine does) and maps the new groups onto the old concepts, so
//! a concept that stays mostly the same keeps its object, its name and its record. Chunks
//! HDBSCAN leaves as noise are then taken one at a time as growth takes them: into the nearest
//! group within [`JOIN`], or a group of their own. It runs as
//! budgeted work on the agenda, or from `telos concepts rebuild`.

use std::collections::{HashMap, HashSet};
use std::time::Instant;

use ndarray::Array2;
use petal_clustering::{Fit, HDbscan};
use serde::{Deserialize, Serialize};
use serde_json::json;
use telos_image::ObjectId;

use crate::Memory;
use crate::concepts::{Grown, Growth, JOIN, cosine, mean};
use crate::error::Result;
use crate::ingest::{CHUNKS, MEMORY, blocking};

/// The fewest chunks HDBSCAN makes a group of (and the neighbours that make a point dense).
/// On 1,200 labelled docstrings (`vsa_bench`), 2 splits them into more groups than growth
/// made (313 from 132, NMI 0.502 from 0.522) and 4 merges most into one (purity 0.33).
pub const MIN_CLUSTER: usize = 3;
/// A new group sharing this much (Jaccard) with an old concept is that concept.
pub const SAME: f64 = 0.5;
/// A concept kept whose members changed more than this (Jaccard below it) is named again.
pub const KEEP_NAME: f64 = 0.8;

/// What a re-clustering did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Rebuilt {
    pub persona: String,
    pub chunks: u32,
    /// Concepts before and after.
    pub before: u32,
    pub after: u32,
    /// Old concepts kept as they were, kept with other members, made, and removed.
    pub unchanged: u32,
    pub changed: u32,
    pub made: u32,
    pub removed: u32,
    /// Concepts of one chunk.
    pub alone: u32,
    /// The cycle that recorded it (none when nothing changed).
    pub cycle: Option<String>,
    #[cfg_attr(feature = "specta", specta(type = specta_typescript::Number))]
    pub ms: f64,
}

/// Groups of `points` (indices): HDBSCAN's clusters, its noise placed by [`JOIN`]; and how
/// many groups are of one point.
pub fn cluster(points: &[Vec<f32>]) -> (Vec<Vec<usize>>, usize) {
    let n = points.len();
    if n == 0 {
        return (Vec::new(), 0);
    }
    let dim = points[0].len();
    let mut flat = Vec::with_capacity(n * dim);
    for p in points {
        let norm = p
            .iter()
            .map(|x| x * x)
            .sum::<f32>()
            .sqrt()
            .max(f32::MIN_POSITIVE);
        flat.extend(p.iter().map(|x| x / norm));
    }
    let matrix = Array2::from_shape_vec((n, dim), flat).expect("n rows of dim floats");
    let mut groups: Vec<Vec<usize>> = if n > MIN_CLUSTER {
        let mut h: HDbscan<f32, _> = HDbscan {
            min_samples: MIN_CLUSTER,
            min_cluster_size: MIN_CLUSTER,
            // Prim's tree over the dense distances, not Borůvka's over the ball tree: in 384
            // dimensions the tree prunes little, and on real chunks this is 1.6–2.7× faster
            // for the same clusters (vsa_bench: 1,193 docstring chunks 12–14 s → 7.6 s).
            boruvka: false,
            ..HDbscan::default()
        };
        let (clusters, _noise, _) = h.fit(&matrix, None);
        clusters.into_values().collect()
    } else {
        Vec::new()
    };
    for g in &mut groups {
        g.sort_unstable();
    }
    groups.sort_by_key(|g| g[0]);
    // HDBSCAN's noise, one point at a time as growth takes chunks: into the group whose
    // centroid is nearest within JOIN (groups it made included), or a group of its own
    let grouped: HashSet<usize> = groups.iter().flatten().copied().collect();
    let mut centroids: Vec<(Vec<f32>, usize)> = groups
        .iter()
        .map(|g| {
            let c = mean(g.iter().map(|&i| points[i].as_slice())).expect("a group has members");
            (c, g.len())
        })
        .collect();
    for i in (0..n).filter(|i| !grouped.contains(i)) {
        let best = centroids
            .iter()
            .enumerate()
            .map(|(g, (c, _))| (g, cosine(&points[i], c)))
            .max_by(|a, b| a.1.total_cmp(&b.1));
        match best {
            Some((g, sim)) if sim >= JOIN => {
                let (c, k) = &mut centroids[g];
                let w = *k as f32;
                for (a, x) in c.iter_mut().zip(&points[i]) {
                    *a = (*a * w + x) / (w + 1.0);
                }
                *k += 1;
                groups[g].push(i);
            }
            _ => {
                centroids.push((points[i].clone(), 1));
                groups.push(vec![i]);
            }
        }
    }
    let alone = groups.iter().filter(|g| g.len() == 1).count();
    for g in &mut groups {
        g.sort_unstable();
    }
    (groups, alone)
}

impl Memory {
    /// Groups `persona`'s chunks into concepts again (one cycle). Holds the commit turn
    /// throughout, so no document is remembered meanwhile.
    pub async fn rebuild_concepts(&self, persona: &ObjectId) -> Result<Rebuilt> {
        let began = Instant::now();
        let _turn = self.inner.commit_turn.lock().await;
        let image = &self.inner.image;
        let p = image.get(persona)?;
        let known: HashSet<String> = p
            .links
            .get(MEMORY)
            .into_iter()
            .flatten()
            .filter_map(|d| image.get(d).ok())
            .flat_map(|d| d.links.get(CHUNKS).cloned().unwrap_or_default())
            .map(|c| c.to_string())
            .collect();
        let mut rows = self.inner.store.persona_vectors(persona.as_str()).await?;
        rows.retain(|r| known.contains(&r.chunk_id));
        rows.sort_by(|a, b| a.chunk_id.cmp(&b.chunk_id));
        rows.dedup_by(|a, b| a.chunk_id == b.chunk_id);
        let (ids, points): (Vec<ObjectId>, Vec<Vec<f32>>) = rows
            .into_iter()
            .filter_map(|r| Some((ObjectId::parse(&r.chunk_id)?, r.vector)))
            .unzip();
        let (groups, alone, points) = blocking(move || {
            let (groups, alone) = cluster(&points);
            Ok((groups, alone, points))
        })
        .await?;

        let old = self.growth(&p).await?;
        let before = old.concepts.len() as u32;
        let mut owner: HashMap<&ObjectId, usize> = HashMap::new();
        for (j, g) in old.concepts.iter().enumerate() {
            for m in &g.members {
                owner.insert(m, j);
            }
        }
        // pairs (new group, old concept) by how much they share, best first
        let mut pairs: Vec<(f64, usize, usize)> = Vec::new();
        for (i, g) in groups.iter().enumerate() {
            let mut shared: HashMap<usize, usize> = HashMap::new();
            for &k in g {
                if let Some(&j) = owner.get(&ids[k]) {
                    *shared.entry(j).or_default() += 1;
                }
            }
            for (j, inter) in shared {
                let union = g.len() + old.concepts[j].members.len() - inter;
                pairs.push((inter as f64 / union as f64, i, j));
            }
        }
        pairs.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
        let (mut group_of, mut taken) = (HashMap::new(), HashSet::new());
        for (jaccard, i, j) in pairs {
            if jaccard >= SAME && !group_of.contains_key(&i) && taken.insert(j) {
                group_of.insert(i, (j, jaccard));
            }
        }

        let mut old_concepts: Vec<Option<Grown>> = old.concepts.into_iter().map(Some).collect();
        let mut next = Vec::new();
        let mut rename = Vec::new();
        let (mut unchanged, mut changed, mut made) = (0u32, 0u32, 0u32);
        for (i, g) in groups.iter().enumerate() {
            let members: Vec<ObjectId> = g.iter().map(|&k| ids[k].clone()).collect();
            let centroid = mean(g.iter().map(|&k| points[k].as_slice()));
            match group_of.get(&i) {
                Some(&(j, jaccard)) => {
                    let was = old_concepts[j]
                        .take()
                        .expect("each old concept matched once");
                    let same: HashSet<&ObjectId> = was.members.iter().collect();
                    let differs =
                        same.len() != members.len() || members.iter().any(|m| !same.contains(m));
                    if differs {
                        changed += 1;
                        if jaccard < KEEP_NAME {
                            rename.extend(was.id.clone());
                        }
                    } else {
                        unchanged += 1;
                    }
                    next.push(Grown {
                        id: was.id,
                        members,
                        centroid,
                        meaning: was.meaning,
                        changed: differs || was.centroid.is_none(),
                    });
                }
                None => {
                    made += 1;
                    next.push(Grown {
                        id: None,
                        members,
                        centroid,
                        meaning: None,
                        changed: true,
                    });
                }
            }
        }
        let mut removed = 0u32;
        for was in old_concepts.into_iter().flatten() {
            removed += 1;
            next.push(Grown {
                members: Vec::new(),
                changed: true,
                ..was
            });
        }
        let mut report = Rebuilt {
            persona: p.name.clone(),
            chunks: ids.len() as u32,
            before,
            after: groups.len() as u32,
            unchanged,
            changed,
            made,
            removed,
            alone: alone as u32,
            cycle: None,
            ms: 0.0,
        };
        if next.iter().any(|g| g.changed) {
            let mut c = image.begin(&format!("regroup {}'s concepts", p.name));
            c.note(
                "concepts",
                json!({"before": before, "after": report.after,
                "changed": changed, "made": made, "removed": removed}),
            );
            let staged = self.stage_growth(&mut c, &p, Growth { concepts: next })?;
            for id in &rename {
                c.set_slot(id, "named_size", json!(0))?;
            }
            let cycle = c.id().to_owned();
            let written = self.write_staged(&staged).await;
            let done: Result<()> = match written {
                Ok(()) => c.commit().await.map(drop).map_err(Into::into),
                Err(e) => Err(e),
            };
            if let Err(e) = done {
                self.unwrite_cycle(&cycle).await;
                return Err(e);
            }
            self.settle_staged(&staged, &cycle).await;
            self.wrote();
            report.cycle = Some(cycle);
        }
        report.ms = began.elapsed().as_secs_f64() * 1e3;
        tracing::info!(persona = %p.name, ?report, "concepts regrouped");
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_follow_the_points_and_outliers_stand_alone() {
        // two tight groups (cosine 0.6 apart) and a point far from both
        let mut points = Vec::new();
        for i in 0..6 {
            let e = i as f32 * 0.01;
            points.push(vec![1.0, e, 0.0, 0.0]);
            points.push(vec![0.6, 0.8, e, 0.0]);
        }
        points.push(vec![0.0, 0.0, 0.0, 1.0]);
        let (groups, alone) = cluster(&points);
        assert_eq!((groups.len(), alone), (3, 1), "{groups:?}");
        assert_eq!(groups[0], [0, 2, 4, 6, 8, 10]);
        assert_eq!(groups[1], [1, 3, 5, 7, 9, 11]);
        assert_eq!(groups[2], [12]);
    }
}
