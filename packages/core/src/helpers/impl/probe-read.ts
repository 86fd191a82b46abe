/**
 * bpf_probe_read{,_user,_kernel}{,_str}. bpfsim has one address space, the
 * arena, so user and kernel reads are the same: a source range outside the
 * arena is a fault, which Linux reports as -EFAULT with the destination
 * zero-filled (a probe read never stops the program).
 *
 * Who may call: program on a CPU.
 */
import type { HelperImpl } from "../../exec/engine.js";
import { Errno } from "../../errno.js";
import { err, inArena, needMem } from "../helper-env.js";

/** bpf_probe_read_kernel(dst, size, unsafe_ptr): 0 or -EFAULT (dst zeroed). */
export const probeRead: HelperImpl = (cpu, r1, r2, r3) => {
  const size = Number(BigInt.asUintN(32, r2));
  const a = cpu.arena;
  const dst = needMem(a, r1, size, "bpf_probe_read dst");
  const src = Number(BigInt.asUintN(64, r3));
  if (size === 0) return 0n;
  if (!inArena(a, src, size)) {
    a.u8.fill(0, dst, dst + size);
    return err(Errno.EFAULT);
  }
  a.u8.copyWithin(dst, src, src + size);
  return 0n;
};

/**
 * bpf_probe_read_kernel_str(dst, size, unsafe_ptr): copies up to size - 1
 * bytes and a NUL; returns the length including the NUL, or -EFAULT with dst
 * zeroed if the string runs off the arena before its NUL.
 */
export const probeReadStr: HelperImpl = (cpu, r1, r2, r3) => {
  const size = Number(BigInt.asUintN(32, r2));
  const a = cpu.arena;
  const dst = needMem(a, r1, size, "bpf_probe_read_str dst");
  const src = Number(BigInt.asUintN(64, r3));
  if (size === 0) return 0n;
  if (!inArena(a, src, 1)) {
    a.u8.fill(0, dst, dst + size);
    return err(Errno.EFAULT);
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
};
