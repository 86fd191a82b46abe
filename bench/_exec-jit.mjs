// JIT figures for `pnpm bench exec`: compile time (translation plus
// `new WebAssembly.Module`, what a cache miss costs) of alu_loop and of a
// 1,000-instruction program, and the cost of a module-cache hit.
// Imported by exec.mjs.

/** A straight-line-and-branches program of exactly `n` instruction slots (ALU, stack memory, forward jumps). */
export function syntheticProgram(n) {
  const lines = ["mov %r0, 1", "mov %r1, 2", "mov %r2, 3", "stdw [%r10-8], 5"];
  let k = 0;
  while (lines.length < n - 1) {
    const pick = k % 8;
    if (pick === 0) lines.push(`add %r0, ${k}`);
    else if (pick === 1) lines.push("xor %r1, %r0");
    else if (pick === 2) lines.push("lsh %r2, 3");
    else if (pick === 3) lines.push("ldxdw %r3, [%r10-8]");
    else if (pick === 4) lines.push("stxdw [%r10-16], %r3");
    else if (pick === 5) lines.push(`jgt %r0, ${k * 7}, +1`);
    else if (pick === 6) lines.push("mov32 %r4, %r0");
    else lines.push("mul %r1, %r4");
    k++;
  }
  lines.push("exit");
  return lines.join("\n");
}

/** `insns` behind a `mov r0, n`: a different module per n (V8 caches modules by their bytes). */
function variant(insns, n) {
  const out = new Uint8Array(insns.length + 8);
  const dv = new DataView(out.buffer);
  dv.setUint8(0, 0xb7);
  dv.setInt32(4, n, true);
  out.set(insns, 8);
  return out;
}

const WARMUP = 30;

/** Median µs of fn(i) over `reps` calls, after WARMUP calls (steady state: the translator's JS optimised). */
function medianUs(fn, reps) {
  for (let i = 0; i < WARMUP; i++) fn(-1 - i);
  const xs = [];
  for (let r = 0; r < reps; r++) {
    const t0 = process.hrtime.bigint();
    fn(r);
    xs.push(Number(process.hrtime.bigint() - t0) / 1000);
  }
  xs.sort((a, b) => a - b);
  return xs[xs.length >> 1];
}

let salt = 0;

/**
 * Compile figures, as rows { case, metric, value, unit, insns }.
 * `core` and `loader` are the built packages; `arenaSize` the arena the programs target.
 */
export function jitCompileFigures(core, loader, aluLoopInsns, arenaSize, reps = 51) {
  const big = loader.assemble(syntheticProgram(1000));
  const rows = [];
  for (const [name, insns] of [["alu_loop", aluLoopInsns], ["synthetic_1000", big]]) {
    const slots = insns.length / 8;
    // Every timed compile gets distinct bytes, so neither our cache nor V8's can answer it.
    const progs = Array.from({ length: reps + WARMUP }, () => variant(insns, ++salt));
    const full = medianUs((r) => core.compileJitModule(progs[r < 0 ? reps - 1 - r : r], arenaSize, { cache: false }), reps);
    core.compileJitModule(insns, arenaSize);
    const cached = medianUs(() => core.compileJitModule(insns, arenaSize), reps);
    rows.push({ case: name, metric: "compile_us", value: Number(full.toFixed(1)), unit: "us", insns: slots });
    // Per 1,000 instructions only where fixed costs do not dominate.
    if (slots >= 1000) rows.push({ case: name, metric: "compile_us_per_1k_insns", value: Number(((full * 1000) / slots).toFixed(1)), unit: "us", insns: slots });
    rows.push({ case: name, metric: "compile_cached_us", value: Number(cached.toFixed(2)), unit: "us", insns: slots });
  }
  return rows;
}
