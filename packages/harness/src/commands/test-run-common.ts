/**
 * What both `test-run` paths share: raw and assembly programs
 * (test-run.ts) and ELF objects (test-run-object.ts) take the same
 * `--data`/`--ctx`/number/`--engine` arguments and print the run the same
 * way, as `bpftool prog run` does. Kept in one place so the two outputs
 * cannot drift apart.
 */
import { readFileSync } from "node:fs";
import { BpfCmd, Errno, setProgEngine, tracePipe, type Kernel, type Process, type ProgTestRunAttr } from "@bpfsim/core";
import { UsageError, type CommandContext } from "../cli.js";

/** `<hex>` (optional 0x, spaces and colons ignored) or `@file`; undefined when absent. */
export function bytesArg(v: string | undefined): Uint8Array | undefined {
  if (v === undefined) return undefined;
  if (v.startsWith("@")) return new Uint8Array(readFileSync(v.slice(1)));
  const hex = v.replace(/^0x/i, "").replace(/[\s:]/g, "");
  if (!/^([0-9a-f]{2})*$/i.test(hex)) throw new UsageError(`'${v}' is neither hex bytes nor @file`);
  return Uint8Array.from(hex.match(/../g) ?? [], (h) => parseInt(h, 16));
}

/** A non-negative decimal option, or `dflt` when absent. */
export function intArg(v: string | true | undefined, what: string, dflt: number): number {
  if (v === undefined) return dflt;
  if (v === true || !/^\d+$/.test(v)) throw new UsageError(`${what} wants a number`);
  return Number(v);
}

/** `--engine interpreter|jit` for every program `k` runs; absent keeps the default. */
export function engineArg(k: Kernel, engine: string | true | undefined): void {
  if (engine === "interpreter" || engine === "jit") setProgEngine(k, engine);
  else if (engine !== undefined) throw new UsageError("--engine is interpreter or jit");
}

/** Hex dump, 16 bytes a line, as bpftool prints data_out. */
export function hexDump(b: Uint8Array): string[] {
  const lines: string[] = [];
  for (let i = 0; i < b.length; i += 16) {
    lines.push(Array.from(b.subarray(i, i + 16), (x) => x.toString(16).padStart(2, "0")).join(" "));
  }
  return lines;
}

/**
 * BPF_PROG_TEST_RUN with `a`, then print the return value, the (average)
 * duration, the data out and, when `a.ctxOut` is set, the context out, at
 * most `dataSizeOut`/`ctxSizeOut` bytes each. ENOSPC (output longer than the
 * buffer) still prints what fit, as bpftool does; any other error throws.
 * Returns the syscall's result.
 */
export function testRunAndPrint(
  ctx: CommandContext, proc: Process, a: ProgTestRunAttr, dataSizeOut: number, ctxSizeOut = 0,
): number {
  const r = proc.bpf(BpfCmd.ProgTestRun, a);
  if (r < 0 && r !== -Errno.ENOSPC) throw new Error(`BPF_PROG_TEST_RUN failed: errno ${-r}`);
  const avg = (a.repeat ?? 1) > 1 ? " (average)" : "";
  ctx.out(`Return value: ${a.retval ?? 0}, duration${avg}: ${a.duration ?? 0}ns`);
  if (a.dataOut) {
    const n = Math.min(a.dataSizeOut ?? 0, dataSizeOut);
    ctx.out(`Data out (${a.dataSizeOut ?? 0} bytes${r === -Errno.ENOSPC ? `, ${n} shown: ENOSPC` : ""}):`);
    for (const l of hexDump(a.dataOut.subarray(0, n))) ctx.out(l);
  }
  if (a.ctxOut && (r === 0 || r === -Errno.ENOSPC)) {
    ctx.out(`Context out (${a.ctxSizeOut ?? 0} bytes):`);
    for (const l of hexDump(a.ctxOut.subarray(0, Math.min(a.ctxSizeOut ?? 0, ctxSizeOut)))) ctx.out(l);
  }
  return r;
}

/** What bpf_trace_printk wrote, as `bpftool prog tracelog` would show it. */
export function printTracePipe(ctx: CommandContext, k: Kernel): void {
  const trace = tracePipe(k).drain();
  if (trace) {
    ctx.out("Trace pipe:");
    for (const l of trace.trimEnd().split("\n")) ctx.out(l);
  }
}
