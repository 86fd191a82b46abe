/**
 * bpf_trace_printk and bpf_snprintf on the kernel's limited printf
 * (`bprintf.ts`).
 *
 * Who may call: program on a CPU.
 */
import type { HelperImpl } from "../../exec/engine.js";
import { Errno } from "../../errno.js";
import { MAX_BPRINTF_VARARGS, bprintf } from "../bprintf.js";
import { err, helperEnv, needMem } from "../helper-env.js";

/** The format must be NUL-terminated inside its `fmt_size` bytes, as Linux checks. */
function fmtString(u8: Uint8Array, off: number, size: number): string | null {
  let s = "";
  for (let i = 0; i < size; i++) {
    const c = u8[off + i]!;
    if (c === 0) return s;
    s += String.fromCharCode(c);
  }
  return null;
}

/**
 * bpf_trace_printk(fmt, fmt_size, arg1, arg2, arg3): at most 3 conversions;
 * writes one trace_pipe record and returns the formatted length.
 */
export const tracePrintk: HelperImpl = (cpu, r1, r2, r3, r4, r5) => {
  const size = Number(BigInt.asUintN(32, r2));
  const a = cpu.arena;
  const fmtOff = needMem(a, r1, size, "bpf_trace_printk fmt");
  const fmt = fmtString(a.u8, fmtOff, size);
  if (fmt === null) return err(Errno.EINVAL);
  const msg = bprintf(a, fmt, [r3, r4, r5], 3);
  if (msg === null) return err(Errno.EINVAL);
  const env = helperEnv(cpu);
  const t = env.current(cpu.cpu);
  env.tracePipe.write({ cpu: cpu.cpu, pid: t?.pid ?? 0, comm: t?.comm ?? "<idle>", ns: env.clock.monoNs(), msg });
  return BigInt(msg.length);
};

/**
 * bpf_snprintf(str, str_size, fmt, data, data_len): `data` holds one u64 per
 * conversion (data_len a multiple of 8, at most 12 of them, exactly as many
 * as the format uses). Returns the bytes needed including the NUL, like
 * snprintf() + 1; writes at most str_size bytes, always NUL-terminated.
 */
export const snprintf: HelperImpl = (cpu, r1, r2, r3, r4, r5) => {
  const a = cpu.arena;
  const strSize = Number(BigInt.asUintN(32, r2));
  const dataLen = Number(BigInt.asUintN(32, r5));
  if (dataLen % 8 !== 0 || dataLen / 8 > MAX_BPRINTF_VARARGS) return err(Errno.EINVAL);
  const fmtOff = needMem(a, r3, 1, "bpf_snprintf fmt");
  const fmt = fmtString(a.u8, fmtOff, Math.min(a.size - fmtOff, 4096));
  if (fmt === null) return err(Errno.EINVAL);
  const args: bigint[] = [];
  if (dataLen > 0) {
    const dataOff = needMem(a, r4, dataLen, "bpf_snprintf data");
    for (let i = 0; i < dataLen; i += 8) args.push(a.dv.getBigUint64(dataOff + i, true));
  }
  if (countConversions(fmt) !== args.length) return err(Errno.EINVAL);
  const out = bprintf(a, fmt, args, MAX_BPRINTF_VARARGS);
  if (out === null) return err(Errno.EINVAL);
  if (strSize > 0) {
    const dst = needMem(a, r1, strSize, "bpf_snprintf str");
    const n = Math.min(out.length, strSize - 1);
    for (let i = 0; i < n; i++) a.u8[dst + i] = out.charCodeAt(i) & 0xff;
    a.u8[dst + n] = 0;
  }
  return BigInt(out.length + 1);
};

function countConversions(fmt: string): number {
  let n = 0;
  for (let i = 0; i < fmt.length; i++) {
    if (fmt[i] !== "%") continue;
    if (fmt[i + 1] === "%") i++;
    else n++;
  }
  return n;
}
