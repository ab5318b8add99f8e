"""The baseline for the trainer's time per step: a plain PEFT loop, as a tutorial writes it, on
the same rows, the same base GGUF, the same LoRA (rank 8 on q, k, v, o) and the same loss mask
as trainer/train.py. Prints {"step_ms": [...]} as its last line.

    plain_peft.py BASE.gguf DATA.jsonl STEPS
"""

import json
import sys
import time
from pathlib import Path

import torch
from peft import LoraConfig, get_peft_model
from transformers import AutoModelForCausalLM, AutoTokenizer

base, data, steps = sys.argv[1], sys.argv[2], int(sys.argv[3])
torch.manual_seed(0)
tok = AutoTokenizer.from_pretrained(str(Path(base).parent), gguf_file=Path(base).name)
model = AutoModelForCausalLM.from_pretrained(str(Path(base).parent), gguf_file=Path(base).name, dtype=torch.float32)
model = get_peft_model(
    model,
    LoraConfig(r=8, lora_alpha=16, lora_dropout=0.0, target_modules=["q_proj", "k_proj", "v_proj", "o_proj"], task_type="CAUSAL_LM"),
)
rows = [json.loads(line)["messages"] for line in open(data) if line.strip()]
encoded = []
for m in rows:
    full = list(tok.apply_chat_template(m, return_dict=True)["input_ids"])
    prompt = tok.apply_chat_template(m[:-1], add_generation_prompt=True, return_dict=True)["input_ids"]
    encoded.append((full[-512:], ([-100] * len(prompt) + full[len(prompt):])[-512:]))
opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=2e-4)
model.train()
times = []
for step in range(steps):
    ids, labels = encoded[step % len(encoded)]
    t = time.perf_counter()
    loss = model(input_ids=torch.tensor([ids]), labels=torch.tensor([labels])).loss
    loss.backward()
    opt.step()
    opt.zero_grad()
    times.append((time.perf_counter() - t) * 1e3)
print(json.dumps({"step_ms": times}))
