/**
 * Instructions as the kernel's verifier log prints them (kernel/bpf/disasm.c):
 * `(b7) r0 = 0`, `(79) r0 = *(u64 *)(r10 -8)`, `(15) if r1 == 0x0 goto pc+2`.
 */
import { type Insn, C, cls, op, srcBit, mode, sizeField, LDDW } from "./insn.js";

const ALU_OPS: Record<number, string> = {
  [C.ADD]: "+=", [C.SUB]: "-=", [C.MUL]: "*=", [C.DIV]: "/=", [C.OR]: "|=", [C.AND]: "&=", [C.LSH]: "<<=",
  [C.RSH]: ">>=", [C.NEG]: "neg", [C.MOD]: "%=", [C.XOR]: "^=", [C.MOV]: "=", [C.ARSH]: "s>>=", [C.END]: "endian",
};
const JMP_OPS: Record<number, string> = {
  [C.JEQ]: "==", [C.JGT]: ">", [C.JGE]: ">=", [C.JSET]: "&", [C.JNE]: "!=", [C.JSGT]: "s>", [C.JSGE]: "s>=",
  [C.JLT]: "<", [C.JLE]: "<=", [C.JSLT]: "s<", [C.JSLE]: "s<=",
};
const SIZE = ["u32", "u16", "u8", "u64"];
const SSIZE = ["s32", "s16", "s8", "s64"];
const hex = (n: number | bigint): string => "0x" + (typeof n === "number" ? (n >>> 0).toString(16) : n.toString(16));
const sgn = (n: number): string => (n >= 0 ? `+${n}` : `${n}`);

/** Resolves helper ids to names for `call bpf_xxx#N`. */
export type HelperNamer = (id: number) => string | undefined;

export function disasm(insn: Insn, helperName: HelperNamer, showAddr = false): string {
  const { code, dst, src, off, imm } = insn;
  const c = cls(code);
  const h = `(${code.toString(16).padStart(2, "0")}) `;
  if (c === C.ALU || c === C.ALU64) {
    const r = c === C.ALU64 ? "r" : "w";
    const o = op(code);
    if (o === C.END) {
      const kind = c === C.ALU64 ? "bswap" : srcBit(code) ? "be" : "le";
      return `${h}r${dst} = ${kind}${imm} r${dst}`;
    }
    if (o === C.NEG) return `${h}${r}${dst} = -${r}${dst}`;
    if (o === C.MOV && srcBit(code) && off !== 0) return `${h}${r}${dst} = (s${off})${r}${src}`;
    let s = ALU_OPS[o] ?? "?";
    if ((o === C.DIV || o === C.MOD) && off === 1) s = "s" + s;
    return srcBit(code) ? `${h}${r}${dst} ${s} ${r}${src}` : `${h}${r}${dst} ${s} ${imm}`;
  }
  if (c === C.STX) {
    const sz = SIZE[sizeField(code) >> 3];
    if (mode(code) === C.MEM) return `${h}*(${sz} *)(r${dst} ${sgn(off)}) = r${src}`;
    if (mode(code) === C.ATOMIC) {
      const w = sizeField(code) === C.DW ? "r" : "w";
      const a64 = sizeField(code) === C.DW ? "64" : "";
      const names: Record<number, string> = { [C.ADD]: "add", [C.AND]: "and", [C.OR]: "or", [C.XOR]: "xor" };
      if (imm === C.XCHG) return `${h}${w}${src} = atomic${a64}_xchg((${sz} *)(r${dst} ${sgn(off)}), ${w}${src})`;
      if (imm === C.CMPXCHG) return `${h}${w}0 = atomic${a64}_cmpxchg((${sz} *)(r${dst} ${sgn(off)}), ${w}0, ${w}${src})`;
      // Linux's disassembler names only the valid atomic operations.
      if (names[imm & ~C.FETCH] === undefined) return `BUG_${code.toString(16).padStart(2, "0")}`;
      const nm = names[imm & 0xf0] ?? "?";
      if (imm & C.FETCH) return `${h}${w}${src} = atomic${a64}_fetch_${nm}((${sz} *)(r${dst} ${sgn(off)}), ${w}${src})`;
      return `${h}lock *(${sz} *)(r${dst} ${sgn(off)}) ${ALU_OPS[imm & 0xf0] ?? "?"} r${src}`;
    }
    return `${h}BUG_stx`;
  }
  if (c === C.ST) return `${h}*(${SIZE[sizeField(code) >> 3]} *)(r${dst} ${sgn(off)}) = ${imm}`;
  if (c === C.LDX) {
    const sx = mode(code) === C.MEMSX;
    return `${h}r${dst} = *(${(sx ? SSIZE : SIZE)[sizeField(code) >> 3]} *)(r${src} ${sgn(off)})`;
  }
  if (c === C.LD) {
    if (code === LDDW) {
      // Privileged logs show the map's address (here: its header offset); unprivileged ones its id.
      if (src === C.PSEUDO_MAP_FD) return showAddr ? `${h}r${dst} = ${hex(insn.imm64 ?? 0n)}` : `${h}r${dst} = map[id:${imm}]`;
      if (src === C.PSEUDO_MAP_VALUE) return `${h}r${dst} = map[id:${imm}][0]+0`;
      if (src === C.PSEUDO_FUNC) return `${h}r${dst} = func`;
      return `${h}r${dst} = ${hex(insn.imm64 ?? BigInt(imm >>> 0))}`;
    }
    const sz = SIZE[sizeField(code) >> 3];
    if (mode(code) === C.ABS) return `${h}r0 = *(${sz} *)skb[${imm}]`;
    if (mode(code) === C.IND) return `${h}r0 = *(${sz} *)skb[r${src} + ${imm}]`;
    return `${h}BUG_ld_${code.toString(16)}`;
  }
  if (c === C.JMP || c === C.JMP32) {
    const o = op(code);
    if (o === C.CALL) {
      if (src === C.PSEUDO_CALL) return `${h}call pc${sgn(imm)}`;
      if (src === C.PSEUDO_KFUNC_CALL) return `${h}call kernel-function`;
      const n = helperName(imm);
      return n ? `${h}call bpf_${n}#${imm}` : `${h}call unknown#${imm}`;
    }
    if (o === C.EXIT) return `${h}exit`;
    if (o === C.JA) return c === C.JMP32 ? `${h}gotol pc${sgn(imm)}` : `${h}goto pc${sgn(off)}`;
    const r = c === C.JMP ? "r" : "w";
    const rhs = srcBit(code) ? `${r}${src}` : hex(imm);
    return `${h}if ${r}${dst} ${JMP_OPS[o] ?? "?"} ${rhs} goto pc${sgn(off)}`;
  }
  return `${h}BUG`;
}
