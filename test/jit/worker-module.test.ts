/**
 * A JIT module compiled on one thread runs on another: post the
 * WebAssembly.Module and the arena memory to a worker, which instantiates it
 * on its own CpuContext. The worker loads the built packages (dist/).
 */
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import { describe, expect, it } from "vitest";
import { Arena, KERNEL_OWNER, STACK_AREA_BYTES, compileJitModule } from "@bpfsim/core";
import { assemble } from "@bpfsim/loader";

const dist = fileURLToPath(new URL("../../packages/core/dist/index.js", import.meta.url));
const built = existsSync(dist);
if (!built) console.log("packages/core/dist not built (run the build first): skipping the worker test");

describe.skipIf(!built)("JIT module across threads", () => {
  it("runs in a worker against the shared arena", async () => {
    const arena = Arena.create({ size: 1 << 20 });
    const stackBase = arena.alloc(STACK_AREA_BYTES, KERNEL_OWNER);
    const buf = arena.alloc(64, KERNEL_OWNER);
    arena.u8.fill(0, buf, buf + 64);
    // Adds 40 to the u64 at r1 atomically, stores r1 + 2 at r1 + 8, returns the old value.
    const insns = assemble(`mov %r2, 40\nlock fetch add [%r1+0], %r2\nmov %r3, %r1\nadd %r3, 2\nstxdw [%r1+8], %r3\nmov %r0, %r2\nexit`);
    arena.u64[buf >> 3] = 2n;
    const module = compileJitModule(insns, arena);
    const worker = new Worker(new URL("./module-worker.mjs", import.meta.url));
    try {
      const reply = new Promise<{ r0: bigint }>((resolve, reject) => {
        worker.once("message", resolve);
        worker.once("error", reject);
      });
      worker.postMessage({ module, memory: arena.memory, stackBase, ctx: BigInt(buf) });
      expect((await reply).r0).toBe(2n);
      expect(arena.u64[buf >> 3]).toBe(42n);
      expect(arena.u64[(buf >> 3) + 1]).toBe(BigInt(buf + 2));
    } finally {
      await worker.terminate();
    }
  });
});
