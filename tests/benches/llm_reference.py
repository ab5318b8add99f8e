"""The embedded runtime benchmark's reference: llama-cpp-python on the same GGUF, prompt,
context and threads. Prints one JSON line: the median time to first token, generation and
prompt tokens per second, and the process's peak RSS."""

import json
import resource
import statistics
import sys
import time

from llama_cpp import Llama

model, messages_file, n_ctx, threads, max_tokens, rounds = sys.argv[1:7]
n_ctx, threads, max_tokens, rounds = int(n_ctx), int(threads), int(max_tokens), int(rounds)
with open(messages_file) as f:
    messages = json.load(f)

llm = Llama(
    model_path=model,
    n_ctx=n_ctx,
    n_batch=512,
    n_threads=threads,
    n_threads_batch=threads,
    verbose=False,
)
prompt_tokens = None
ttfts, gen_rates, generated = [], [], []
for r in range(rounds + 1):  # the first is a warm-up
    llm.reset()  # no prompt reuse between rounds: each reads the whole prompt, as ours does
    start = time.perf_counter()
    first = None
    pieces = 0
    for chunk in llm.create_chat_completion(
        messages=messages,
        max_tokens=max_tokens,
        temperature=0.8,
        top_k=40,
        top_p=0.95,
        min_p=0.05,
        repeat_penalty=1.1,
        stream=True,
    ):
        if chunk["choices"][0]["delta"].get("content"):
            pieces += 1
            if first is None:
                first = time.perf_counter()
    end = time.perf_counter()
    if prompt_tokens is None:
        prompt_tokens = llm.n_tokens - pieces
    if r == 0 or first is None or pieces < 2:
        continue
    ttfts.append(first - start)
    gen_rates.append((pieces - 1) / (end - first))
    generated.append(pieces)

ttft = statistics.median(ttfts)
print(
    json.dumps(
        {
            "ttft_s": ttft,
            "gen_tokens_per_s": statistics.median(gen_rates),
            "prompt_tokens": prompt_tokens,
            "prompt_tokens_per_s": prompt_tokens / ttft,
            "generated": statistics.median(generated),
            "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        }
    )
)
