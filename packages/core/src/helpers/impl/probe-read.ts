/**
 * bpf_probe_read{,_user,_kernel}{,_str}. bpfsim has one address space, the
 * arena: a source range outside it is a fault, which Linux reports as
 * -EFAULT with the destination zero-filled (a probe read never stops the
 * program). One distinction is kept because programs meet it all the time:
 * the kernel variants refuse a "user" address with -ERANGE
 * (copy_from_kernel_nofault_allowed); here that is the reserved low 64 KiB,
 * where NULL and small offsets from it land, as they do on x86-64. The
 * legacy bpf_probe_read(_str) reads low addresses as user memory.
 *
 * Who may call: program on a CPU.
 */
import type { HelperImpl } from "../../exec/engine.js";
import { Errno } from "../../errno.js";
import { ARENA_RESERVED } from "../../memory/arena-api.js";
import { err, inArena, needMem } from "../helper-env.js";
import type { CpuContext } from "../../exec/engine.js";

/** What a failed read of `src` returns: -ERANGE for a low address read as kernel memory, else -EFAULT. */
function failCode(src: number, kernel: boolean): number {
  return kernel && src >= 0 && src < ARENA_RESERVED ? Errno.ERANGE : Errno.EFAULT;
}

/** bpf_probe_read_{user,kernel}(dst, size, unsafe_ptr): 0 or -EFAULT / -ERANGE (dst zeroed). */
function read(cpu: CpuContext, r1: bigint, r2: bigint, r3: bigint, kernel: boolean): bigint {
  const size = Number(BigInt.asUintN(32, r2));
  const a = cpu.arena;
  const dst = needMem(a, r1, size, "bpf_probe_read dst");
  const src = Number(BigInt.asUintN(64, r3));
  if (size === 0) return 0n;
  if (!inArena(a, src, size)) {
    a.u8.fill(0, dst, dst + size);
    return err(failCode(src, kernel));
  }
  a.u8.copyWithin(dst, src, src + size);
  return 0n;
}

export const probeReadUser: HelperImpl = (cpu, r1, r2, r3) => read(cpu, r1, r2, r3, false);
export const probeReadKernel: HelperImpl = (cpu, r1, r2, r3) => read(cpu, r1, r2, r3, true);

/**
 * bpf_probe_read_kernel_str(dst, size, unsafe_ptr): copies up to size - 1
 * bytes and a NUL; returns the length including the NUL, or -EFAULT with dst
 * zeroed if the string runs off the arena before its NUL.
 */
function readStr(cpu: CpuContext, r1: bigint, r2: bigint, r3: bigint, kernel: boolean): bigint {
  const size = Number(BigInt.asUintN(32, r2));
  const a = cpu.arena;
  const dst = needMem(a, r1, size, "bpf_probe_read_str dst");
  const src = Number(BigInt.asUintN(64, r3));
  if (size === 0) return 0n;
  if (!inArena(a, src, 1)) {
    a.u8.fill(0, dst, dst + size);
    return err(failCode(src, kernel));
  }
  let n = 0;
  while (n < size - 1) {
    if (src + n >= a.size) {
      a.u8.fill(0, dst, dst + size);
      return err(Errno.EFAULT);
    }
    const c = a.u8[src + n]!;
    if (c === 0) break;
    a.u8[dst + n] = c;
    n++;
  }
  a.u8[dst + n] = 0;
  return BigInt(n + 1);
}

export const probeReadUserStr: HelperImpl = (cpu, r1, r2, r3) => readStr(cpu, r1, r2, r3, false);
export const probeReadKernelStr: HelperImpl = (cpu, r1, r2, r3) => readStr(cpu, r1, r2, r3, true);
