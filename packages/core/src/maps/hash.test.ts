import { describe, expect, it } from "vitest";
import { Arena } from "../memory/arena.js";
import { runSimLockProbe, runSimProbe } from "../../../../test/maps/hash-probe-sim.js";
import { KERNEL_NCPUS, kernelFacts, kernelLockFacts, parseFacts } from "../../../../test/maps/hash-kernel-facts.js";

describe("hash map family against recorded Linux 6.18 answers", () => {
  const arena = Arena.create({ size: 64 << 20 });
  const sim = runSimProbe(arena, KERNEL_NCPUS);
  const facts = parseFacts(kernelFacts);
  for (const [name, want] of facts) it(name, () => expect(sim.get(name)).toBe(want));
  it("covers every recorded fact", () => expect([...facts.keys()].filter((n) => !sim.has(n))).toEqual([]));
});

describe("BPF_F_LOCK against recorded Linux 6.18 answers", () => {
  const sim = runSimLockProbe(Arena.create({ size: 4 << 20 }), KERNEL_NCPUS);
  for (const [name, want] of parseFacts(kernelLockFacts)) it(name, () => expect(sim.get(name)).toBe(want));
});
