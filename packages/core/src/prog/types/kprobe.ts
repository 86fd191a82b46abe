/**
 * BPF_PROG_TYPE_KPROBE (2): the context is the probed function's `struct
 * pt_regs`, x86-64 layout, 168 bytes, read-only with any aligned size
 * (kernel/trace/bpf_trace.c `kprobe_prog_is_valid_access`). BPF_PROG_TEST_RUN
 * is not supported for kprobes in Linux (-ENOTSUPP), nor here.
 *
 *   off  reg     off  reg     off  reg       off  reg
 *     0  r15      48  r11      96  rdx      144  eflags
 *     8  r14      56  r10     104  rsi      152  rsp
 *    16  r13      64  r9      112  rdi      160  ss
 *    24  r12      72  r8      120  orig_rax
 *    32  rbp      80  rax     128  rip
 *    40  rbx      88  rcx     136  cs
 */
import { ProgType } from "../../uapi.js";
import { allowList, TRACING_EXTRA } from "../func-sets.js";
import type { ProgTypeDef } from "../prog-type-def.js";
import type { CtxAccess } from "../prog-type.js";

/** struct pt_regs (arch/x86/include/uapi/asm/ptrace.h, x86-64). */
export const PtRegs = {
  r15: 0, r14: 8, r13: 16, r12: 24, rbp: 32, rbx: 40, r11: 48, r10: 56, r9: 64, r8: 72,
  rax: 80, rcx: 88, rdx: 96, rsi: 104, rdi: 112, orig_rax: 120, rip: 128, cs: 136,
  eflags: 144, rsp: 152, ss: 160,
} as const;
export const PT_REGS_SIZE = 168;

/** Read-only, naturally aligned, inside `size` bytes: the tracing types' common rule. */
export function readOnlyAligned(limit: number, minOff = 0) {
  return (off: number, size: number, write: boolean): CtxAccess | null => {
    if (write || off < minOff || off >= limit || size <= 0 || off % size !== 0 || off + size > limit) return null;
    return { kind: "scalar" };
  };
}

export const kprobeProgType: ProgTypeDef = {
  progType: ProgType.Kprobe,
  name: "kprobe",
  ctxSize: PT_REGS_SIZE,
  ctxAccess: readOnlyAligned(PT_REGS_SIZE),
  helperAllowed: allowList(TRACING_EXTRA),
  directPacketAccess: false,
  unprivLoad: false,
};
