"""The reference side of the hypervector benchmark: NumPy doing the same FHRR operations on
complex64 arrays of the same sizes — binding as one vectorised product of whole batches into
an output made beforehand (NumPy at its best), bundling as a sum then each component divided
by its magnitude. Prints one JSON
line: binds and bundles per second, best of ROUNDS.

Usage: vsa_reference.py PAIRS DIM MEMBERS BUNDLES ROUNDS
"""

import json
import sys
import time

import numpy as np

pairs, dim, members, bundles, rounds = (int(a) for a in sys.argv[1:6])
rng = np.random.default_rng(7)


def phasors(*shape):
    return np.exp(1j * rng.uniform(0, 2 * np.pi, shape)).astype(np.complex64)


a, b, x = phasors(pairs, dim), phasors(pairs, dim), phasors(members, dim)
bound = np.zeros_like(a)
best_bind = best_bundle = float("inf")
for _ in range(rounds):
    start = time.perf_counter()
    np.multiply(a, b, out=bound)
    best_bind = min(best_bind, time.perf_counter() - start)
    start = time.perf_counter()
    for _ in range(bundles):
        s = x.sum(axis=0)
        s /= np.abs(s)
    best_bundle = min(best_bundle, time.perf_counter() - start)
assert bound.shape == (pairs, dim) and s.shape == (dim,)
print(json.dumps({
    "binds_per_s": pairs / best_bind,
    "bundles_per_s": bundles / best_bundle,
    "numpy": np.__version__,
}))
