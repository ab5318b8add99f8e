#!/usr/bin/env python3
"""Telos's reference trainer: a LoRA on a persona's golden dataset, merged, converted to GGUF.

    train.py --base BASE.gguf --data train.jsonl --out DIR --name NAME [--steps N] [...]

1. The base model is read from its GGUF file (dequantized by transformers' GGUF loader), with
   its tokenizer and chat template: no model hub is needed.
2. A LoRA is trained with PEFT on CPU (on a CUDA GPU with Unsloth's QLoRA when Unsloth is
   installed, else PEFT on the GPU). Each row is a conversation in the `messages` format; the
   loss counts the last assistant reply only.
3. The adapter is merged into the base, saved as Hugging Face weights, and converted to GGUF
   with llama.cpp's own converter (convert_hf_to_gguf.py) as DIR/NAME.gguf.
4. The chat template is checked: the new GGUF's `tokenizer.chat_template` must be the base's,
   byte for byte, and a golden prompt must render the same with both.

Progress is one JSON object per line on stdout ({"stage": ...}, {"step": i, "steps": n,
"loss": x, "ms": t}); the last line is {"stage": "done", "gguf": PATH, ...}. Anything else
(library warnings) goes to stderr. A failure exits non-zero with {"stage": "failed", "error":
...} as the last line. Telos runs this script unless TELOS_TRAINER names another command that
keeps the same arguments and output.
"""

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path

GOLDEN = [
    {"role": "system", "content": "You are a persona of Telos."},
    {"role": "user", "content": "What is a kite?"},
    {"role": "assistant", "content": "A tethered wing that flies on the wind."},
    {"role": "user", "content": "And why does it fly?"},
]


def say(**event):
    print(json.dumps(event), flush=True)


def parse():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--base", required=True, help="the base model's GGUF file")
    p.add_argument("--data", required=True, help="training rows (JSONL, messages format)")
    p.add_argument("--out", required=True, help="a folder for the work and the result")
    p.add_argument("--name", required=True, help="the new model's name (NAME.gguf)")
    p.add_argument("--steps", type=int, default=60, help="optimizer steps (default 60)")
    p.add_argument("--lr", type=float, default=2e-4)
    p.add_argument("--rank", type=int, default=8, help="LoRA rank")
    p.add_argument("--max-tokens", type=int, default=512, help="longest row, in tokens")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--outtype", default="q8_0", help="the GGUF's weight type (q8_0, f16, ...)")
    p.add_argument(
        "--converter",
        default=os.environ.get("TELOS_CONVERTER")
        or str(Path(sys.prefix) / "llama.cpp"),
        help="llama.cpp's folder (convert_hf_to_gguf.py, gguf-py/)",
    )
    return p.parse_args()


def rows_of(path):
    rows = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                messages = json.loads(line)["messages"]
            except (ValueError, KeyError, TypeError) as e:
                raise SystemExit(f"{path}:{n}: not a row of the messages format ({e})")
            if not messages or messages[-1].get("role") != "assistant":
                raise SystemExit(f"{path}:{n}: the last message is not the assistant's")
            rows.append(messages)
    if not rows:
        raise SystemExit(f"{path} holds no rows")
    return rows


def encode(tokenizer, messages, max_tokens):
    """Token ids and labels: only the last assistant reply counts toward the loss. A row longer
    than max_tokens keeps its end (the reply)."""
    full = list(tokenizer.apply_chat_template(messages, return_dict=True)["input_ids"])
    prompt = tokenizer.apply_chat_template(
        messages[:-1], add_generation_prompt=True, return_dict=True
    )["input_ids"]
    labels = [-100] * len(prompt) + full[len(prompt):]
    return full[-max_tokens:], labels[-max_tokens:]


def load(base, device):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder, file = str(Path(base).parent), Path(base).name
    tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=file)
    model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=file, dtype=torch.float32)
    return tokenizer, model.to(device)


def with_lora(model, rank, device):
    if device == "cuda":
        try:
            return unsloth_lora(model, rank), "unsloth-qlora"
        except Exception as e:  # Unsloth absent or refusing this model: PEFT on the GPU.
            print(f"Unsloth unavailable ({e}); PEFT on the GPU", file=sys.stderr)
    from peft import LoraConfig, get_peft_model

    config = LoraConfig(
        r=rank,
        lora_alpha=2 * rank,
        lora_dropout=0.0,
        target_modules=["q_proj", "k_proj", "v_proj", "o_proj"],
        task_type="CAUSAL_LM",
    )
    return get_peft_model(model, config), "peft-lora"


def unsloth_lora(model, rank):
    import tempfile

    from unsloth import FastLanguageModel

    # Unsloth loads Hugging Face weights in 4 bits: the dequantized base goes through a folder.
    folder = tempfile.mkdtemp(prefix="telos-unsloth-")
    plain(model).save_pretrained(folder)
    quantized, _ = FastLanguageModel.from_pretrained(folder, load_in_4bit=True)
    return FastLanguageModel.get_peft_model(
        quantized, r=rank, lora_alpha=2 * rank, target_modules=["q_proj", "k_proj", "v_proj", "o_proj"]
    )


def plain(model):
    """The model without the GGUF quantizer's marks, so transformers will save it."""
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    return model


def train(model, tokenizer, rows, args, device):
    import torch

    random.seed(args.seed)
    torch.manual_seed(args.seed)
    # A row with nothing to learn (no reply token left after the shift) has no loss: its NaN
    # would end up in the optimizer and on the progress line, which JSON cannot carry.
    encoded = [
        e
        for e in (encode(tokenizer, r, args.max_tokens) for r in rows)
        if any(label != -100 for label in e[1][1:])
    ]
    if not encoded:
        raise ValueError("no row has a reply to learn from")
    order = list(range(len(encoded)))
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=args.lr)
    model.train()
    losses = []
    for step in range(1, args.steps + 1):
        if (step - 1) % len(order) == 0:
            random.shuffle(order)
        ids, labels = encoded[order[(step - 1) % len(order)]]
        began = time.perf_counter()
        out = model(
            input_ids=torch.tensor([ids], device=device),
            labels=torch.tensor([labels], device=device),
        )
        out.loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        ms = (time.perf_counter() - began) * 1e3
        losses.append(float(out.loss))
        say(step=step, steps=args.steps, loss=round(losses[-1], 4), ms=round(ms, 1))
    return losses


def template_of(gguf_file, converter):
    sys.path.insert(0, str(Path(converter) / "gguf-py"))
    from gguf import GGUFReader

    field = GGUFReader(gguf_file).fields.get("tokenizer.chat_template")
    if field is None:
        return None
    return bytes(field.parts[field.data[0]]).decode("utf-8")


def main():
    args = parse()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    import torch

    device = "cuda" if torch.cuda.is_available() else "cpu"
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    rows = rows_of(args.data)
    say(stage="load", base=args.base, rows=len(rows), device=device)
    tokenizer, model = load(args.base, device)
    model, method = with_lora(model, args.rank, device)
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    say(stage="train", method=method, trainable=trainable, steps=args.steps)
    losses = train(model, tokenizer, rows, args, device)
    say(stage="merge")
    merged = plain(model.merge_and_unload())
    hf = out / "hf"
    merged.save_pretrained(hf, safe_serialization=True)
    tokenizer.save_pretrained(hf)
    say(stage="convert", outtype=args.outtype)
    gguf = out / f"{args.name}.gguf"
    converter = Path(args.converter)
    script = converter / "convert_hf_to_gguf.py"
    if not script.exists():
        raise SystemExit(f"llama.cpp's converter is not at {script} (run scripts/setup-trainer)")
    env = dict(os.environ, PYTHONPATH=str(converter / "gguf-py"))
    done = subprocess.run(
        [sys.executable, str(script), str(hf), "--outfile", str(gguf), "--outtype", args.outtype],
        env=env,
        stdout=sys.stderr,
        stderr=sys.stderr,
    )
    if done.returncode != 0:
        raise SystemExit(f"llama.cpp's converter failed (exit {done.returncode}); see the log")
    shutil.rmtree(hf)  # the merged weights in fp32: several times the GGUF's size
    before, after = template_of(args.base, converter), template_of(str(gguf), converter)
    if before != after:
        raise SystemExit(
            "the chat template changed on the way to GGUF: the new model would be prompted "
            "differently from the one it was trained as"
        )
    say(
        stage="done",
        gguf=str(gguf),
        method=method,
        steps=args.steps,
        first_loss=losses[0] if losses else None,
        last_loss=losses[-1] if losses else None,
        template_bytes=len(after or ""),
    )


if __name__ == "__main__":
    try:
        main()
    except SystemExit as e:
        if e.code not in (None, 0):
            say(stage="failed", error=str(e.code))
            sys.exit(1)
    except Exception as e:  # the trainer's crash is reported by name, then it exits non-zero
        say(stage="failed", error=f"{type(e).__name__}: {e}")
        raise
