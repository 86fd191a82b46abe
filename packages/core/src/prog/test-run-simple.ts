/**
 * BPF_PROG_TEST_RUN for the types that run once on a user-given context:
 * raw tracepoints (`bpf_prog_test_run_raw_tp`: ctx_in is the u64 args, at
 * most 12; BPF_F_TEST_RUN_ON_CPU picks the CPU, one past the last is ENXIO)
 * and syscall programs (`bpf_prog_test_run_syscall`: ctx_in is copied in and
 * back out, up to U16_MAX bytes). Neither takes data, ctx_out, repeat or a
 * duration (EINVAL), and only retval comes back.
 */
import { Errno } from "../errno.js";
import { BPF_F_TEST_RUN_ON_CPU } from "../uapi.js";
import type { TestRunEnv } from "./test-run.js";
import { MAX_BPF_FUNC_ARGS } from "./types/raw-tracepoint.js";
import { U16_MAX } from "./types/syscall.js";

/** ENXIO: Linux's answer for a CPU that is not online. */
const ENXIO = 6;

function rejectsIo(env: TestRunEnv): boolean {
  const a = env.a;
  return !!(a.dataIn || a.dataOut || a.ctxOut || a.duration || a.repeat || a.batchSize);
}

/** Copies the user's ctx into a fresh arena block; returns its address (a valid empty block when size is 0). */
function ctxBlock(env: TestRunEnv, size: number): number {
  const off = env.alloc(Math.max(size, 8));
  if (size) env.k.arena.u8.set(env.a.ctxIn!.subarray(0, size), off);
  return off;
}

export function testRunRawTp(env: TestRunEnv): number {
  const a = env.a;
  if (rejectsIo(env)) return -Errno.EINVAL;
  const size = a.ctxSizeIn ?? 0;
  if (size > MAX_BPF_FUNC_ARGS * 8) return -Errno.EINVAL;
  const onCpu = ((a.flags ?? 0) & BPF_F_TEST_RUN_ON_CPU) !== 0;
  if (!onCpu && a.cpu) return -Errno.EINVAL;
  if (onCpu && (a.cpu ?? 0) >= env.k.ncpus) return -ENXIO;
  const ctx = ctxBlock(env, size);
  const { retval } = env.run(ctx, 1);
  a.retval = Number(retval & 0xffffffffn);
  return 0;
}

export function testRunSyscall(env: TestRunEnv): number {
  const a = env.a;
  if (rejectsIo(env) || a.flags) return -Errno.EINVAL;
  const size = a.ctxSizeIn ?? 0;
  if (size > U16_MAX) return -Errno.EINVAL;
  const ctx = ctxBlock(env, size);
  const { retval } = env.run(ctx, 1);
  a.retval = Number(retval & 0xffffffffn);
  if (size) a.ctxIn!.set(env.k.arena.u8.subarray(ctx, ctx + size));
  return 0;
}
