/**
 * bpf_spin_lock / bpf_spin_unlock on the 4-byte `struct bpf_spin_lock` inside
 * a map value, with the arena spin lock (memory/spin-lock.ts), so syscall
 * updates with BPF_F_LOCK and programs exclude each other.
 *
 * Who may call: program on a CPU. The verifier (Linux's rules) forbids
 * helper calls and nested locks while holding one.
 */
import type { HelperImpl } from "../../exec/engine.js";
import { ProgramFault } from "../../exec/engine.js";
import { spinLock, spinUnlock } from "../../memory/spin-lock.js";
import { needMem } from "../helper-env.js";

export const spinLockHelper: HelperImpl = (cpu, r1) => {
  const off = needMem(cpu.arena, r1, 4, "bpf_spin_lock");
  if (off & 3) throw new ProgramFault(-1, "bpf_spin_lock: lock not 4-byte aligned");
  spinLock(cpu.arena.i32, off);
  return 0n;
};

export const spinUnlockHelper: HelperImpl = (cpu, r1) => {
  const off = needMem(cpu.arena, r1, 4, "bpf_spin_unlock");
  if (off & 3) throw new ProgramFault(-1, "bpf_spin_unlock: lock not 4-byte aligned");
  spinUnlock(cpu.arena.i32, off);
  return 0n;
};
