// Worker side of worker-module.test.ts: receives a compiled JIT module and
// the arena's shared memory, runs the program once and reports r0.
import { parentPort } from "node:worker_threads";

const core = await import(new URL("../../packages/core/dist/index.js", import.meta.url).href);

parentPort.once("message", ({ module, memory, stackBase, ctx }) => {
  const arena = core.Arena.attach(memory);
  const cpu = { arena, cpu: 1, stackBase, helpers: [], tailCalls: 0, state: {} };
  const prog = core.JitProgram.fromModule(module, arena.size, "posted");
  parentPort.postMessage({ r0: prog.run(ctx, cpu) });
});
