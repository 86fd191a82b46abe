/**
 * Helpers that describe where the program runs: CPU, NUMA node, current
 * task, time and randomness.
 *
 * Who may call: program on a CPU.
 */
import type { CpuContext, HelperImpl } from "../../exec/engine.js";
import { Errno } from "../../errno.js";
import { err, helperEnv, needMem } from "../helper-env.js";

export const getSmpProcessorId: HelperImpl = (cpu) => BigInt(cpu.cpu);

/** One NUMA node, as on a machine without NUMA. */
export const getNumaNodeId: HelperImpl = () => 0n;

export const ktimeGetNs: HelperImpl = (cpu) => helperEnv(cpu).clock.monoNs();
export const ktimeGetBootNs: HelperImpl = (cpu) => helperEnv(cpu).clock.bootNs();
export const ktimeGetTaiNs: HelperImpl = (cpu) => helperEnv(cpu).clock.taiNs();
export const ktimeGetCoarseNs: HelperImpl = (cpu) => helperEnv(cpu).clock.monoNs();

/**
 * The numeric forms (helper-table.ts) of ktime_get_ns / ktime_get_coarse_ns
 * and ktime_get_boot_ns: the clock's number reading when it has one and the
 * value is below 2^53, else -1 (the regular call).
 */
export const ktimeGetNsNum = (cpu: CpuContext): number => {
  const c = helperEnv(cpu).clock;
  if (c.monoNsNum === undefined) return -1;
  const v = c.monoNsNum();
  return v < 2 ** 53 ? v : -1;
};
export const ktimeGetBootNsNum = (cpu: CpuContext): number => {
  const c = helperEnv(cpu).clock;
  if (c.bootNsNum === undefined) return -1;
  const v = c.bootNsNum();
  return v < 2 ** 53 ? v : -1;
};

/** Linux starts jiffies 5 minutes before wrapping 32 bits (INITIAL_JIFFIES). */
export const jiffies64: HelperImpl = (cpu) => {
  const { clock } = helperEnv(cpu);
  const hz = BigInt(clock.hz);
  const initial = BigInt.asUintN(32, -300n * hz);
  return BigInt.asUintN(64, initial + (clock.bootNs() * hz) / 1_000_000_000n);
};

/**
 * Per-CPU xorshift32, seeded from the CPU number and `state.prandomSeed`, so
 * stepped runs are reproducible. Linux uses a per-CPU prandom state too; the
 * sequence differs, the contract (uniform u32) does not.
 */
export const getPrandomU32: HelperImpl = (cpu) => {
  let s = (cpu.state["prandom"] as number | undefined) ?? seed(cpu);
  s ^= s << 13;
  s ^= s >>> 17;
  s ^= s << 5;
  s >>>= 0;
  cpu.state["prandom"] = s;
  return BigInt(s);
};

function seed(cpu: CpuContext): number {
  const base = (cpu.state["prandomSeed"] as number | undefined) ?? 0x9e3779b9;
  return (Math.imul(base ^ (cpu.cpu + 1), 0x85ebca6b) >>> 0) || 1;
}

/** (tgid << 32) | pid, or -EINVAL with no current task. */
export const getCurrentPidTgid: HelperImpl = (cpu) => {
  const t = helperEnv(cpu).current(cpu.cpu);
  if (!t) return err(Errno.EINVAL);
  return (BigInt(t.tgid >>> 0) << 32n) | BigInt(t.pid >>> 0);
};

/** (gid << 32) | uid, or -EINVAL with no current task. */
export const getCurrentUidGid: HelperImpl = (cpu) => {
  const t = helperEnv(cpu).current(cpu.cpu);
  if (!t) return err(Errno.EINVAL);
  return (BigInt(t.gid >>> 0) << 32n) | BigInt(t.uid >>> 0);
};

/** bpf_get_current_comm(buf, size): strscpy_pad of the task name; zeroes buf and -EINVAL with no task. */
export const getCurrentComm: HelperImpl = (cpu, r1, r2) => {
  const size = Number(BigInt.asUintN(32, r2));
  const a = cpu.arena;
  const dst = needMem(a, r1, size, "bpf_get_current_comm buf");
  a.u8.fill(0, dst, dst + size);
  const t = helperEnv(cpu).current(cpu.cpu);
  if (!t) return err(Errno.EINVAL);
  const n = Math.min(t.comm.length, 15, Math.max(size - 1, 0));
  for (let i = 0; i < n; i++) a.u8[dst + i] = t.comm.charCodeAt(i) & 0xff;
  return 0n;
};
