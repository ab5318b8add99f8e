import { describe, expect, it } from "vitest";
import type { MorphView, SchedulerView } from "../bindings";
import { hostBar, hostName, ramBar, vramBar, withModelState } from "./vram";

const status = (over: Partial<SchedulerView> = {}): SchedulerView => ({
  host: "http://127.0.0.1:11434",
  offline: null,
  budget: 8 * 2 ** 30,
  used: 6.3e9,
  models: [
    { model: "phi3:3.8b", size: 2.2e9, state: "loaded", busy: false, pinned: true, personas: ["ALFRED"] },
    { model: "mistral:7b", size: 4.1e9, state: "loading", busy: false, pinned: false, personas: ["BRICK"] },
  ],
  queues: [
    ["mistral:7b", 1],
    ["gguf:SmolLM2-135M-Instruct.Q4_1", 2],
  ],
  embedded: {
    host: "embedded llama.cpp (2 threads, 4096 tokens of context)",
    budget: 12e9,
    used: 0.19e9,
    models: [
      {
        model: "gguf:SmolLM2-135M-Instruct.Q4_1",
        size: 0.19e9,
        state: "loaded",
        busy: true,
        pinned: false,
        personas: ["ROBIN"],
      },
    ],
  },
  personas: [
    { persona: "ALFRED", state: "loaded", runtime: "ollama", model: "phi3:3.8b", fallback: null, host: null },
    { persona: "BRICK", state: "loading", runtime: "ollama", model: "mistral:7b", fallback: null, host: null },
    {
      persona: "ROBIN",
      state: "loaded",
      runtime: "embedded",
      model: "gguf:SmolLM2-135M-Instruct.Q4_1",
      fallback: "gemma2:9b is not installed in Ollama (`ollama pull gemma2:9b`)",
      host: null,
    },
  ],
  more_hosts: [],
  ...over,
});

describe("the VRAM bar", () => {
  it("shows each model's share of the budget, and what is queued", () => {
    const { segments, caption } = vramBar(status());
    expect(caption).toBe("VRAM 6.3 GB / 8 GiB · 1 queued");
    expect(segments.map((s) => s.label)).toEqual(["phi3:3.8b 2.2 GB (pinned)", "mistral:7b 4.1 GB loading"]);
    expect(segments[0]?.share).toBeCloseTo(2.2e9 / 2 ** 33, 6);
  });

  it("has one more bar per Ollama host, each against its own budget, named by host", () => {
    const gpu2 = {
      host: "http://gpu2:11434",
      offline: null,
      budget: 24 * 2 ** 30,
      used: 5.4e9,
      models: [
        { model: "gemma2:9b", size: 5.4e9, state: "loaded", busy: true, pinned: false, personas: ["ROBIN"] },
      ],
    };
    const view = status({ more_hosts: [gpu2], queues: [["gemma2:9b", 2]] });
    expect(hostName("http://gpu2:11434/")).toBe("gpu2");
    expect(hostName("http://gpu3:8080")).toBe("gpu3:8080");
    expect(vramBar(view).caption).toBe("127.0.0.1 6.3 GB / 8 GiB");
    const bar = hostBar(view, gpu2);
    expect(bar.caption).toBe("gpu2 5.4 GB / 24 GiB · 2 queued");
    expect(bar.segments[0]?.share).toBeCloseTo(5.4e9 / (24 * 2 ** 30), 6);
    expect(hostBar(view, { ...gpu2, offline: "connection refused" }).caption).toBe("gpu2 offline");
  });

  it("has a RAM bar beside it for the embedded runtime's models, with their own queue", () => {
    const ram = ramBar(status());
    expect(ram?.caption).toBe("RAM 0.2 GB / 12.0 GB · 2 queued");
    expect(ram?.segments.map((s) => s.label)).toEqual(["gguf:SmolLM2-135M-Instruct.Q4_1 0.2 GB"]);
    expect(ramBar(status({ embedded: null }))).toBeNull();
  });

  it("says Ollama is offline rather than showing stale models", () => {
    expect(vramBar(status({ offline: "Ollama is not running" }))).toEqual({ segments: [], caption: "Ollama offline" });
  });

  it("gives a persona morph its model state by name", () => {
    const brick: MorphView = {
      object: { id: "o:brick", name: "BRICK" },
      kind: "persona",
      position: null,
      pinned: false,
      model: "mistral:7b",
      runtime: "ollama",
      fallback: null,
      model_state: "offline",
      busy: false,
      memory_count: 0,
    };
    expect(withModelState(brick, status()).model_state).toBe("loading");
    const babs = { ...brick, object: { id: "o:babs", name: "BABS" } };
    expect(withModelState(babs, status())).toBe(babs);
  });

  it("moves a persona to the model that answers it, fallback and all", () => {
    const robin: MorphView = {
      object: { id: "o:robin", name: "ROBIN" },
      kind: "persona",
      position: null,
      pinned: false,
      model: "gemma2:9b",
      runtime: "ollama",
      fallback: null,
      model_state: "offline",
      busy: false,
      memory_count: 0,
    };
    const next = withModelState(robin, status());
    expect([next.runtime, next.model, next.model_state]).toEqual(["embedded", "gguf:SmolLM2-135M-Instruct.Q4_1", "loaded"]);
    expect(next.fallback).toContain("not installed in Ollama");
  });
});
