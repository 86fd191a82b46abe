/**
 * BPF_STX | BPF_ATOMIC on arena words with JS `Atomics`, so concurrent CPUs
 * (worker threads) see real read-modify-write atomicity on the shared
 * memory. Like Linux's verifier, the access must be aligned to its size.
 *
 *   imm            effect                                   src after
 *   ADD/OR/AND/XOR *(size*)(dst+off) op= src                unchanged
 *   ... | FETCH    same, atomically                         old value
 *   XCHG           *(...) = src                             old value
 *   CMPXCHG        if *(...) == r0 then *(...) = src        r0 = old value
 *
 * 32-bit forms zero-extend the value they put in a register.
 *
 * Program context on one CPU.
 */
import type { ArenaApi } from "../../memory/arena-api.js";
import { ARENA_RESERVED } from "../../memory/arena-api.js";
import { ProgramFault } from "../engine.js";
import { BPF_ADD, BPF_AND, BPF_CMPXCHG, BPF_FETCH, BPF_OR, BPF_XCHG, BPF_XOR } from "../../insn/opcodes.js";

/** Runs one atomic instruction. `size` is 4 or 8. */
export function atomicOp(
  arena: ArenaApi,
  lo: Int32Array,
  hi: Int32Array,
  pc: number,
  size: number,
  d: number,
  s: number,
  off: number,
  imm: number,
): void {
  const a = (lo[d]! >>> 0) + off;
  if (hi[d] !== 0 || a < ARENA_RESERVED || a + size > arena.size) {
    throw new ProgramFault(pc, `invalid atomic access of ${size} bytes at 0x${((hi[d]! >>> 0) * 2 ** 32 + a).toString(16)}`);
  }
  if (a % size !== 0) throw new ProgramFault(pc, `misaligned atomic access of ${size} bytes at 0x${a.toString(16)}`);
  if (size === 4) {
    const i32 = arena.i32;
    const k = a >>> 2;
    const v = lo[s]!;
    let old: number;
    switch (imm) {
      case BPF_CMPXCHG:
        old = Atomics.compareExchange(i32, k, lo[0]!, v);
        lo[0] = old;
        hi[0] = 0;
        return;
      case BPF_XCHG:
        old = Atomics.exchange(i32, k, v);
        break;
      default:
        switch (imm & ~BPF_FETCH) {
          case BPF_ADD:
            old = Atomics.add(i32, k, v);
            break;
          case BPF_OR:
            old = Atomics.or(i32, k, v);
            break;
          case BPF_AND:
            old = Atomics.and(i32, k, v);
            break;
          case BPF_XOR:
            old = Atomics.xor(i32, k, v);
            break;
          default:
            throw new ProgramFault(pc, `unknown atomic op 0x${(imm >>> 0).toString(16)}`);
        }
        if (!(imm & BPF_FETCH)) return;
    }
    lo[s] = old;
    hi[s] = 0;
    return;
  }
  const i64 = arena.i64;
  const k = a >>> 3;
  const v = BigInt.asIntN(64, (BigInt(hi[s]! >>> 0) << 32n) | BigInt(lo[s]! >>> 0));
  let old: bigint;
  switch (imm) {
    case BPF_CMPXCHG: {
      const expect = BigInt.asIntN(64, (BigInt(hi[0]! >>> 0) << 32n) | BigInt(lo[0]! >>> 0));
      old = BigInt.asUintN(64, Atomics.compareExchange(i64, k, expect, v));
      lo[0] = Number(old & 0xffffffffn) | 0;
      hi[0] = Number(old >> 32n) | 0;
      return;
    }
    case BPF_XCHG:
      old = Atomics.exchange(i64, k, v);
      break;
    default:
      switch (imm & ~BPF_FETCH) {
        case BPF_ADD:
          old = Atomics.add(i64, k, v);
          break;
        case BPF_OR:
          old = Atomics.or(i64, k, v);
          break;
        case BPF_AND:
          old = Atomics.and(i64, k, v);
          break;
        case BPF_XOR:
          old = Atomics.xor(i64, k, v);
          break;
        default:
          throw new ProgramFault(pc, `unknown atomic op 0x${(imm >>> 0).toString(16)}`);
      }
      if (!(imm & BPF_FETCH)) return;
  }
  const u = BigInt.asUintN(64, old);
  lo[s] = Number(u & 0xffffffffn) | 0;
  hi[s] = Number(u >> 32n) | 0;
}
