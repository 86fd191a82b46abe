/**
 * Helpers that call back into the program: bpf_loop and
 * bpf_for_each_map_elem. The callback argument (r2) is the instruction index
 * of the callback subprogram: PROG_LOAD resolves the BPF_PSEUDO_FUNC lddw to
 * it. The engine that runs the program provides `cpu.callback`, which runs
 * that subprogram in a new frame and returns its r0.
 *
 * Who may call: program on a CPU.
 */
import type { CpuContext, HelperImpl } from "../../exec/engine.js";
import { ProgramFault } from "../../exec/engine.js";
import { Errno } from "../../errno.js";
import { err } from "../helper-env.js";
import { mapArg } from "./map-helpers.js";

/** BPF_MAX_LOOPS: the most iterations bpf_loop allows. */
export const BPF_MAX_LOOPS = 1 << 23;

function callbackOf(cpu: CpuContext, what: string) {
  const cb = cpu.callback;
  if (!cb) throw new ProgramFault(-1, `${what}: the engine provides no callback support`);
  return cb;
}

/**
 * bpf_loop(nr_loops, callback_fn, callback_ctx, flags): calls
 * callback_fn(i, callback_ctx) for i = 0.. until it returns non-zero.
 * Returns the iterations done; -EINVAL for flags, -E2BIG past BPF_MAX_LOOPS.
 */
export const loop: HelperImpl = (cpu, r1, r2, r3, r4) => {
  if (r4 !== 0n) return err(Errno.EINVAL);
  const n = BigInt.asUintN(32, r1);
  if (n > BigInt(BPF_MAX_LOOPS)) return err(Errno.E2BIG);
  const cb = callbackOf(cpu, "bpf_loop");
  const fn = Number(r2);
  for (let i = 0n; i < n; i++) {
    if (cb(fn, i, r3, 0n, 0n, 0n) !== 0n) return i + 1n;
  }
  return n;
};

/**
 * bpf_for_each_map_elem(map, callback_fn, callback_ctx, flags): calls
 * callback_fn(map, key, value, callback_ctx) per element until it returns
 * non-zero (1 = stop). Returns the elements visited; -EINVAL for flags.
 */
export const forEachMapElem: HelperImpl = (cpu, r1, r2, r3, r4) => {
  if (r4 !== 0n) return err(Errno.EINVAL);
  const m = mapArg(cpu, r1, "bpf_for_each_map_elem");
  if (!m.impl.forEachElem) return err(Errno.ENOTSUPP);
  const cb = callbackOf(cpu, "bpf_for_each_map_elem");
  const fn = Number(r2);
  const visited = m.impl.forEachElem(cpu.cpu, (keyOff, valueOff) =>
    cb(fn, r1, BigInt(keyOff), BigInt(valueOff), r3, 0n) !== 0n ? 1 : 0,
  );
  return BigInt(visited);
};
