/**
 * The ring buffer helpers (kernel/bpf/ringbuf.c): bpf_ringbuf_output (130),
 * bpf_ringbuf_reserve (131), bpf_ringbuf_submit (132), bpf_ringbuf_discard
 * (133), bpf_ringbuf_query (134). Their prototypes (reserve acquires a
 * reference, submit and discard release it) are in helpers/func-protos.ts;
 * this module registers the implementations at load time.
 *
 * Who may call: program on a CPU.
 */
import type { HelperImpl } from "../exec/engine.js";
import { ProgramFault } from "../exec/engine.js";
import { Errno } from "../errno.js";
import { HelperId } from "../helpers/func-protos.js";
import { err, helperEnv, needMem } from "../helpers/helper-env.js";
import { registerHelperImpl } from "../helpers/helper-table.js";
import { MapType } from "../uapi.js";
import { ringbufBase } from "../maps/ringbuf.js";
import { BPF_RB_FORCE_WAKEUP, BPF_RB_NO_WAKEUP, ringCommit, ringQuery, ringReserve } from "./ring.js";

/** The ring of the map r1 points at; anything else stops the program (the verifier refuses it in Linux). */
function ringArg(cpu: Parameters<HelperImpl>[0], r1: bigint, what: string): number {
  const m = helperEnv(cpu).mapAt(Number(BigInt.asUintN(64, r1)));
  if (!m || m.view.type !== MapType.Ringbuf) throw new ProgramFault(-1, `${what}: r1 is not a ring buffer map`);
  return ringbufBase(m.view);
}

/** bpf_ringbuf_output(ringbuf, data, size, flags): 0, -EINVAL (flags), -EAGAIN (no room). */
export const ringbufOutput: HelperImpl = (cpu, r1, r2, r3, r4) => {
  const base = ringArg(cpu, r1, "bpf_ringbuf_output");
  if (r4 & ~BigInt(BPF_RB_NO_WAKEUP | BPF_RB_FORCE_WAKEUP)) return err(Errno.EINVAL);
  const size = Number(BigInt.asUintN(64, r3));
  const src = needMem(cpu.arena, r2, size, "bpf_ringbuf_output data");
  const rec = ringReserve(cpu.arena, base, size);
  if (rec === 0) return err(Errno.EAGAIN);
  cpu.arena.u8.copyWithin(rec, src, src + size);
  ringCommit(cpu.arena, rec, Number(r4), false);
  return 0n;
};

/** bpf_ringbuf_reserve(ringbuf, size, flags): the sample or NULL (also NULL for any flag). */
export const ringbufReserve: HelperImpl = (cpu, r1, r2, r3) => {
  const base = ringArg(cpu, r1, "bpf_ringbuf_reserve");
  if (r3 !== 0n) return 0n;
  const size = BigInt.asUintN(64, r2);
  if (size > 0xffffffffn) return 0n;
  return BigInt(ringReserve(cpu.arena, base, Number(size)));
};

function sampleArg(cpu: Parameters<HelperImpl>[0], r1: bigint, what: string): number {
  return needMem(cpu.arena, r1, 1, what);
}

/** bpf_ringbuf_submit(sample, flags). */
export const ringbufSubmit: HelperImpl = (cpu, r1, r2) => {
  ringCommit(cpu.arena, sampleArg(cpu, r1, "bpf_ringbuf_submit"), Number(BigInt.asUintN(32, r2)), false);
  return 0n;
};

/** bpf_ringbuf_discard(sample, flags). */
export const ringbufDiscard: HelperImpl = (cpu, r1, r2) => {
  ringCommit(cpu.arena, sampleArg(cpu, r1, "bpf_ringbuf_discard"), Number(BigInt.asUintN(32, r2)), true);
  return 0n;
};

/** bpf_ringbuf_query(ringbuf, flags): BPF_RB_AVAIL_DATA, _RING_SIZE, _CONS_POS, _PROD_POS; 0 otherwise. */
export const ringbufQuery: HelperImpl = (cpu, r1, r2) => ringQuery(cpu.arena, ringArg(cpu, r1, "bpf_ringbuf_query"), BigInt.asUintN(64, r2));

registerHelperImpl(HelperId.ringbuf_output, ringbufOutput);
registerHelperImpl(HelperId.ringbuf_reserve, ringbufReserve);
registerHelperImpl(HelperId.ringbuf_submit, ringbufSubmit);
registerHelperImpl(HelperId.ringbuf_discard, ringbufDiscard);
registerHelperImpl(HelperId.ringbuf_query, ringbufQuery);
