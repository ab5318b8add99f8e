"""The reference side of the embedding benchmark: sentence-transformers (torch, CPU) embeds
the same texts with the same batch size. Prints one JSON line: chunks per second.

Usage: embed_reference.py MODEL_DIR TEXTS_JSON BATCH ROUNDS
"""

import json
import sys
import time

import torch
from sentence_transformers import SentenceTransformer

model_dir, texts_path, batch, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
texts = json.load(open(texts_path))
model = SentenceTransformer(model_dir, device="cpu")
model.encode(texts[:batch], batch_size=batch)  # warm up
best = float("inf")
for _ in range(rounds):
    start = time.perf_counter()
    model.encode(texts, batch_size=batch)
    best = min(best, time.perf_counter() - start)
print(json.dumps({"chunks_per_s": len(texts) / best, "threads": torch.get_num_threads()}))
