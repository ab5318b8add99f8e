//! Delegation: finding a slot or method through an object's parents, depth-first in order.

use std::collections::HashSet;
use std::sync::Arc;

use serde::Serialize;
use serde_json::Value;

use crate::error::Result;
use crate::object::{Method, Object, ObjectId, check_selector};

/// Where a lookup found its answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Found {
    /// A slot: `holder` is the object that holds it (the receiver or an ancestor).
    Slot { holder: ObjectId, value: Value },
    /// A method, held by `holder`.
    Method { holder: ObjectId, method: Method },
}

/// Depth-first, parents in priority order; the first object holding `selector` answers, a
/// slot before a method of the same name. Never panics on a missing object: a dangling parent
/// is skipped.
pub(crate) fn lookup_in(
    receiver: &ObjectId,
    selector: &str,
    get: impl Fn(&ObjectId) -> Option<Arc<Object>>,
) -> Result<Option<Found>> {
    check_selector(selector)?;
    let mut seen = HashSet::new();
    let mut stack = vec![receiver.clone()];
    while let Some(id) = stack.pop() {
        if !seen.insert(id.clone()) {
            continue;
        }
        let Some(object) = get(&id) else { continue };
        if let Some(found) = found_on(&id, &object, selector) {
            return Ok(Some(found));
        }
        stack.extend(object.parents.iter().rev().cloned());
    }
    Ok(None)
}

/// What `object` itself answers to `selector`: a slot before a method of the same name.
pub(crate) fn found_on(id: &ObjectId, object: &Object, selector: &str) -> Option<Found> {
    if let Some(value) = object.slots.get(selector) {
        return Some(Found::Slot {
            holder: id.clone(),
            value: value.clone(),
        });
    }
    object.methods.get(selector).map(|method| Found::Method {
        holder: id.clone(),
        method: method.clone(),
    })
}

/// Checks that giving `id` these `parents` keeps delegation acyclic; on a loop, returns the
/// parent through which `id` reaches itself.
pub(crate) fn check_acyclic(
    id: &ObjectId,
    parents: &[ObjectId],
    get: impl Fn(&ObjectId) -> Option<Arc<Object>>,
) -> std::result::Result<(), ObjectId> {
    for parent in parents {
        let mut seen = HashSet::new();
        let mut stack = vec![parent.clone()];
        while let Some(next) = stack.pop() {
            if &next == id {
                return Err(parent.clone());
            }
            if !seen.insert(next.clone()) {
                continue;
            }
            if let Some(o) = get(&next) {
                stack.extend(o.parents.iter().cloned());
            }
        }
    }
    Ok(())
}
