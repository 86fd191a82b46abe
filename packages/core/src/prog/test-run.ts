/**
 * BPF_PROG_TEST_RUN (net/bpf/test_run.c): run a loaded program once or
 * `repeat` times on a context and packet built like Linux builds them, and
 * report retval, the average duration in ns, and the data and context after
 * the run.
 *
 * Common rules (kernel/bpf/syscall.c `bpf_prog_test_run`): ctx_in and
 * ctx_size_in come together, as do ctx_out and ctx_size_out (else EINVAL);
 * a type without test_run gives ENOTSUPP (524). Output rules
 * (`bpf_test_finish`): data_size_out 0 means "no limit"; a smaller one cuts
 * the copy and gives ENOSPC, with data_size_out, retval and duration still
 * written. The per-type parts are in test-run-skb.ts, test-run-xdp.ts and
 * test-run-simple.ts.
 *
 * Side effects: only the program's own map writes. Packets and contexts are
 * built in a scratch arena block freed afterwards. Syscall context.
 */
import { Errno } from "../errno.js";
import { ProgramFault, STACK_AREA_BYTES, type CompiledProgram, type CpuContext } from "../exec/engine.js";
import type { Kernel } from "../kernel/kernel.js";
import type { Process } from "../kernel/process.js";
import { KERNEL_OWNER } from "../memory/arena-api.js";
import { bindProgArrayKernel } from "../maps/prog-array.js";
import type { ProgHeader } from "./prog-object.js";
import { compiledProg, kernelHelperEnv, nowNs, procTask, progCpuContext, progHeaderBySlot, statsEnabled } from "./prog-env.js";
import { progTypeFor } from "./registry.js";
import { testRunSkb } from "./test-run-skb.js";
import { testRunXdp } from "./test-run-xdp.js";
import { testRunRawTp, testRunSyscall } from "./test-run-simple.js";

/** BPF_PROG_TEST_RUN attributes (`attr->test`). Outputs are written back into this object. */
export interface ProgTestRunAttr {
  progFd: number;
  /** Out. */
  retval?: number;
  dataIn?: Uint8Array | null;
  /** Defaults to dataIn.length. */
  dataSizeIn?: number;
  dataOut?: Uint8Array | null;
  /** In: room in dataOut (0 = unlimited, as Linux). Out: the full output size. */
  dataSizeOut?: number;
  /** 0 means 1. */
  repeat?: number;
  /** Out: average ns per run. In: must be 0 for the types that reject it. */
  duration?: number;
  ctxIn?: Uint8Array | null;
  ctxSizeIn?: number;
  ctxOut?: Uint8Array | null;
  /** In: room in ctxOut. Out: the context size. */
  ctxSizeOut?: number;
  flags?: number;
  cpu?: number;
  batchSize?: number;
}

/** Everything a per-type runner needs. */
export interface TestRunEnv {
  k: Kernel;
  prog: ProgHeader;
  compiled: CompiledProgram;
  cpu: CpuContext;
  a: ProgTestRunAttr;
  /** Runs the program `repeat` times on ctx address `ctx`; returns last r0 and mean ns. */
  run(ctxAddr: number, repeat: number, reset?: () => void): { retval: bigint; duration: number };
  /** A zeroed scratch arena block of `bytes`, freed when the test run ends. */
  alloc(bytes: number): number;
}

/** The runner of one test-run kind. Returns 0 or -errno (after writing outputs into `a`). */
export type TestRunner = (env: TestRunEnv) => number;

const runners: Record<string, TestRunner> = {
  skb: testRunSkb,
  xdp: testRunXdp,
  raw_tp: testRunRawTp,
  syscall: testRunSyscall,
};

const u32ok = (n: unknown): boolean => n === undefined || (typeof n === "number" && Number.isInteger(n) && n >= 0 && n <= 0xffffffff);

const testStacks = new WeakMap<WebAssembly.Memory, number>();

/** BPF_PROG_TEST_RUN. 0 or -errno. */
export function progTestRun(proc: Process, a: ProgTestRunAttr): number {
  for (const f of [a.dataSizeIn, a.dataSizeOut, a.repeat, a.duration, a.ctxSizeIn, a.ctxSizeOut, a.flags, a.cpu, a.batchSize]) {
    if (!u32ok(f)) return -Errno.EINVAL;
  }
  const ctxSizeIn = a.ctxSizeIn ?? a.ctxIn?.length ?? 0;
  const ctxSizeOut = a.ctxSizeOut ?? a.ctxOut?.length ?? 0;
  if (!!ctxSizeIn !== !!a.ctxIn || !!ctxSizeOut !== !!a.ctxOut) return -Errno.EINVAL;
  a.ctxSizeIn = ctxSizeIn;
  a.ctxSizeOut = ctxSizeOut;
  if (a.dataIn && a.dataSizeIn === undefined) a.dataSizeIn = a.dataIn.length;
  if ((a.dataSizeIn ?? 0) > (a.dataIn?.length ?? 0)) return -Errno.EFAULT;
  if (ctxSizeIn > (a.ctxIn?.length ?? 0)) return -Errno.EFAULT;
  const k = proc.kernel;
  const slot = proc.fds.get(a.progFd);
  if (slot < 0) return slot;
  const blocks: number[] = [];
  try {
    const prog = progHeaderBySlot(k, slot);
    if (!prog) return -Errno.EINVAL;
    const runner = runners[progTypeFor(prog.type)?.testRun ?? ""];
    if (!runner) return -Errno.ENOTSUPP;
    bindProgArrayKernel(k);
    const compiled = compiledProg(k, slot);
    const task = procTask(proc);
    const cpuNo = a.flags && a.flags & 1 ? (a.cpu ?? 0) : 0;
    const base = progCpuContext(k, Math.min(cpuNo, k.ncpus - 1), kernelHelperEnv(k, () => task));
    // Test runs get their own stack area so they never share one with a CPU worker.
    let stack = testStacks.get(k.memory);
    if (stack === undefined) {
      stack = k.arena.alloc(STACK_AREA_BYTES, KERNEL_OWNER);
      if (stack < 0) return stack;
      testStacks.set(k.memory, stack);
    }
    const cpu: CpuContext = { ...base, stackBase: stack };
    const stats = statsEnabled(k);
    const env: TestRunEnv = {
      k, prog, compiled, cpu, a,
      run(ctxAddr, repeat, reset) {
        const n = repeat === 0 ? 1 : repeat;
        let r = 0n;
        const t0 = nowNs();
        // As Linux's bpf_test_run loop, a repeat does only what the semantics
        // need: the tail-call count starts again (and `reset`, when a runner
        // asks for one). Repeats before the last take the engine's 32-bit
        // entry when it has one (no BigInt per run), as one batch when it can;
        // the last run yields the full 64-bit r0.
        if (reset === undefined && n > 1 && compiled.runRepeatInt32 !== undefined) {
          compiled.runRepeatInt32(ctxAddr, cpu, n - 1);
        } else if (n > 1 && compiled.runInt32 !== undefined) {
          for (let i = 0; i < n - 1; i++) {
            reset?.();
            cpu.tailCalls = 0;
            compiled.runInt32(ctxAddr, cpu);
          }
        } else {
          for (let i = 0; i < n - 1; i++) {
            reset?.();
            cpu.tailCalls = 0;
            compiled.run(BigInt(ctxAddr), cpu);
          }
        }
        reset?.();
        cpu.tailCalls = 0;
        r = compiled.run(BigInt(ctxAddr), cpu);
        const total = nowNs() - t0;
        if (stats) prog.addRun(total, BigInt(n));
        const avg = total / BigInt(n);
        return { retval: r, duration: avg > 0xffffffffn ? 0xffffffff : Number(avg) };
      },
      alloc(bytes) {
        const off = k.arena.alloc(bytes, KERNEL_OWNER);
        if (off < 0) throw new ProgramFault(-1, "test run: arena exhausted");
        k.arena.u8.fill(0, off, off + bytes);
        blocks.push(off);
        return off;
      },
    };
    try {
      return runner(env);
    } catch (e) {
      if (e instanceof ProgramFault) return -Errno.EFAULT;
      throw e;
    }
  } finally {
    for (const b of blocks) k.arena.free(b);
    k.objects.put(slot);
  }
}

/**
 * bpf_test_finish(): copy `data` out under the data_size_out rule and write
 * data_size_out, retval and duration. 0, -ENOSPC or -EFAULT.
 */
export function testFinish(a: ProgTestRunAttr, data: Uint8Array, retval: number, duration: number): number {
  const size = data.length;
  let copy = size;
  let err = 0;
  const limit = a.dataSizeOut ?? 0;
  if (limit && copy > limit) {
    copy = limit;
    err = -Errno.ENOSPC;
  }
  if (a.dataOut) {
    if (a.dataOut.length < copy) return -Errno.EFAULT;
    a.dataOut.set(data.subarray(0, copy));
  }
  a.dataSizeOut = size;
  a.retval = retval >>> 0;
  a.duration = duration;
  return err;
}

/** bpf_ctx_finish(): copy the context out under ctx_size_out. 0, -ENOSPC or -EFAULT. */
export function ctxFinish(a: ProgTestRunAttr, ctx: Uint8Array | null): number {
  if (!ctx || !a.ctxOut) return 0;
  let copy = ctx.length;
  let err = 0;
  if (copy > (a.ctxSizeOut ?? 0)) {
    copy = a.ctxSizeOut ?? 0;
    err = -Errno.ENOSPC;
  }
  if (a.ctxOut.length < copy) return -Errno.EFAULT;
  a.ctxOut.set(ctx.subarray(0, copy));
  a.ctxSizeOut = ctx.length;
  return err;
}

/**
 * bpf_ctx_init(): the user's context, zero-extended to `max` bytes; a longer
 * one must be zero past `max` (E2BIG). Null when neither ctx_in nor ctx_out
 * was given.
 */
export function ctxInit(a: ProgTestRunAttr, max: number): Uint8Array | null | number {
  if (!a.ctxIn && !a.ctxOut) return null;
  const data = new Uint8Array(max);
  if (a.ctxIn) {
    const size = a.ctxSizeIn ?? 0;
    for (let i = max; i < size; i++) if (a.ctxIn[i] !== 0) return -Errno.E2BIG;
    data.set(a.ctxIn.subarray(0, Math.min(max, size)));
  }
  return data;
}
