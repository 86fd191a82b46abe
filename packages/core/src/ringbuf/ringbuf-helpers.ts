/**
 * The ring buffer helpers (kernel/bpf/ringbuf.c): bpf_ringbuf_output (130),
 * bpf_ringbuf_reserve (131), bpf_ringbuf_submit (132), bpf_ringbuf_discard
 * (133), bpf_ringbuf_query (134). Their prototypes (reserve acquires a
 * reference, submit and discard release it) are in helpers/func-protos.ts;
 * this module registers the implementations at load time.
 *
 * Who may call: program on a CPU.
 */
import type { CpuContext, HelperImpl } from "../exec/engine.js";
import { ProgramFault } from "../exec/engine.js";
import { Errno } from "../errno.js";
import { HelperId } from "../helpers/func-protos.js";
import { err, helperEnv, inArena, needMem } from "../helpers/helper-env.js";
import { registerHelperImpl, registerHelperImpl32, type HelperImpl32 } from "../helpers/helper-table.js";
import { MapType } from "../uapi.js";
import { ringbufBase } from "../maps/ringbuf.js";
import { BPF_RB_FORCE_WAKEUP, BPF_RB_NO_WAKEUP, ringCommit, ringQuery, ringReserve } from "./ring.js";

/** The ring of the map at arena offset `mapOff`; anything else stops the program (the verifier refuses it in Linux). */
function ringArg(cpu: CpuContext, mapOff: number, what: string): number {
  const m = helperEnv(cpu).mapAt(mapOff);
  if (!m || m.view.type !== MapType.Ringbuf) throw new ProgramFault(-1, `${what}: r1 is not a ring buffer map`);
  return ringbufBase(m.view);
}

/** Checks a pointer the helper reads, as needMem. */
function needMem32(cpu: CpuContext, off: number, n: number, what: string): number {
  if (!inArena(cpu.arena, off, n)) throw new ProgramFault(-1, `helper ${what}: bad pointer 0x${off.toString(16)} for ${n} bytes`);
  return off;
}

const u64num = (r: bigint): number => Number(BigInt.asUintN(64, r));

/*
 * Each helper comes twice: on numbers (the 32-bit form the JIT calls when
 * the registers it reads fit in 32 bits, no BigInt; helper-table.ts) and in
 * the regular BigInt convention. The two make the same checks in the same
 * order, so they fault, fail and succeed alike.
 */

/** bpf_ringbuf_output(ringbuf, data, size, flags): 0, -EINVAL (flags), -EAGAIN (no room). */
const ringbufOutput32: HelperImpl32 = (cpu, r1, r2, r3, r4) => {
  const base = ringArg(cpu, r1, "bpf_ringbuf_output");
  if (r4 & ~(BPF_RB_NO_WAKEUP | BPF_RB_FORCE_WAKEUP)) return -Errno.EINVAL;
  const src = needMem32(cpu, r2, r3, "bpf_ringbuf_output data");
  const rec = ringReserve(cpu.arena, base, r3);
  if (rec === 0) return -Errno.EAGAIN;
  cpu.arena.u8.copyWithin(rec, src, src + r3);
  ringCommit(cpu.arena, rec, r4, false);
  return 0;
};
export const ringbufOutput: HelperImpl = (cpu, r1, r2, r3, r4) => {
  const base = ringArg(cpu, u64num(r1), "bpf_ringbuf_output");
  if (r4 & ~BigInt(BPF_RB_NO_WAKEUP | BPF_RB_FORCE_WAKEUP)) return err(Errno.EINVAL);
  const size = u64num(r3);
  const src = needMem(cpu.arena, r2, size, "bpf_ringbuf_output data");
  const rec = ringReserve(cpu.arena, base, size);
  if (rec === 0) return err(Errno.EAGAIN);
  cpu.arena.u8.copyWithin(rec, src, src + size);
  ringCommit(cpu.arena, rec, Number(r4), false);
  return 0n;
};

/** bpf_ringbuf_reserve(ringbuf, size, flags): the sample or NULL (also NULL for any flag). */
const ringbufReserve32: HelperImpl32 = (cpu, r1, r2, r3) => {
  const base = ringArg(cpu, r1, "bpf_ringbuf_reserve");
  if (r3 !== 0) return 0;
  return ringReserve(cpu.arena, base, r2);
};
export const ringbufReserve: HelperImpl = (cpu, r1, r2, r3) => {
  const base = ringArg(cpu, u64num(r1), "bpf_ringbuf_reserve");
  if (r3 !== 0n) return 0n;
  const size = BigInt.asUintN(64, r2);
  if (size > 0xffffffffn) return 0n;
  return BigInt(ringReserve(cpu.arena, base, Number(size)));
};

/** bpf_ringbuf_submit(sample, flags). */
const ringbufSubmit32: HelperImpl32 = (cpu, r1, r2) => {
  ringCommit(cpu.arena, needMem32(cpu, r1, 1, "bpf_ringbuf_submit"), r2, false);
  return 0;
};
export const ringbufSubmit: HelperImpl = (cpu, r1, r2) => {
  ringCommit(cpu.arena, needMem(cpu.arena, r1, 1, "bpf_ringbuf_submit"), Number(BigInt.asUintN(32, r2)), false);
  return 0n;
};

/** bpf_ringbuf_discard(sample, flags). */
const ringbufDiscard32: HelperImpl32 = (cpu, r1, r2) => {
  ringCommit(cpu.arena, needMem32(cpu, r1, 1, "bpf_ringbuf_discard"), r2, true);
  return 0;
};
export const ringbufDiscard: HelperImpl = (cpu, r1, r2) => {
  ringCommit(cpu.arena, needMem(cpu.arena, r1, 1, "bpf_ringbuf_discard"), Number(BigInt.asUintN(32, r2)), true);
  return 0n;
};

/** bpf_ringbuf_query(ringbuf, flags): BPF_RB_AVAIL_DATA, _RING_SIZE, _CONS_POS, _PROD_POS; 0 otherwise. */
export const ringbufQuery: HelperImpl = (cpu, r1, r2) =>
  ringQuery(cpu.arena, ringArg(cpu, u64num(r1), "bpf_ringbuf_query"), BigInt.asUintN(64, r2));

registerHelperImpl(HelperId.ringbuf_output, ringbufOutput);
registerHelperImpl(HelperId.ringbuf_reserve, ringbufReserve);
registerHelperImpl(HelperId.ringbuf_submit, ringbufSubmit);
registerHelperImpl(HelperId.ringbuf_discard, ringbufDiscard);
registerHelperImpl(HelperId.ringbuf_query, ringbufQuery);
// Results: 0 or -errno, a sample pointer or NULL (never HELPER32_CALL, 1).
registerHelperImpl32(HelperId.ringbuf_output, ringbufOutput32, { args: 4, ptr: false });
registerHelperImpl32(HelperId.ringbuf_reserve, ringbufReserve32, { args: 3, ptr: true });
registerHelperImpl32(HelperId.ringbuf_submit, ringbufSubmit32, { args: 2, ptr: false });
registerHelperImpl32(HelperId.ringbuf_discard, ringbufDiscard32, { args: 2, ptr: false });
