/**
 * The C-like instruction syntax of `llvm-objdump -d` for BPF (as LLVM 14
 * prints it): `r0 = 1`, `w0 += w1`, `if r1 == 999 goto +1`,
 * `r2 = *(u32 *)(r1 + 4)`, `lock *(u64 *)(r0 + 0) += r1`, `r0 = be16 r0`.
 * Immediates are signed decimal, as LLVM prints them. Pseudo `lddw` forms
 * and local calls use bpftool's spelling (`map[fd:3]`, `call pc+5`).
 *
 * Pure; callable from any thread.
 */
import {
  opInfo,
  variantName,
  lddwImm64,
  BPF_ADD,
  BPF_OR,
  BPF_AND,
  BPF_XOR,
  BPF_FETCH,
  BPF_XCHG,
  BPF_CMPXCHG,
  BPF_PSEUDO_CALL,
  BPF_PSEUDO_KFUNC_CALL,
  BPF_PSEUDO_MAP_FD,
  BPF_PSEUDO_MAP_VALUE,
  BPF_PSEUDO_FUNC,
  BPF_PSEUDO_MAP_IDX,
  BPF_PSEUDO_MAP_IDX_VALUE,
  BPF_PSEUDO_BTF_ID,
  type Insn,
} from "@bpfsim/core";

const ALU_SYM: Record<string, string> = {
  add: "+=", sub: "-=", mul: "*=", div: "/=", or: "|=", and: "&=", lsh: "<<=", rsh: ">>=",
  mod: "%=", xor: "^=", mov: "=", arsh: "s>>=", sdiv: "s/=", smod: "s%=",
};
const JMP_SYM: Record<string, string> = {
  jeq: "==", jne: "!=", jgt: ">", jge: ">=", jlt: "<", jle: "<=", jsgt: "s>", jsge: "s>=",
  jslt: "s<", jsle: "s<=", jset: "&",
};
const ATOMIC_SYM: Record<number, string> = { [BPF_ADD]: "+=", [BPF_OR]: "|=", [BPF_AND]: "&=", [BPF_XOR]: "^=" };
const ATOMIC_FN: Record<number, string> = { [BPF_ADD]: "add", [BPF_OR]: "or", [BPF_AND]: "and", [BPF_XOR]: "xor" };
const TYPE: Record<number, string> = { 1: "u8", 2: "u16", 4: "u32", 8: "u64" };

const sgn = (n: number): string => (n < 0 ? `-${-n}` : `+${n}`);
const addr = (reg: number, off: number): string => `r${reg} ${off < 0 ? "-" : "+"} ${Math.abs(off)}`;

/** LLVM-style text of one valid instruction. */
export function llvmText(i: Insn): string {
  const info = opInfo(i.code);
  if (!info) return ".invalid";
  const full = variantName(info, i.off, i.imm) ?? info.name;
  // `add32` -> `add` (the w registers say 32); `be32`, `bswap32`, `movsx1632` keep their width.
  const name = info.is32 && (info.kind === "alu" || info.kind === "jcond") && !full.startsWith("movsx") ? full.replace(/32$/, "") : full;
  const R = info.is32 ? "w" : "r";
  const d = `${R}${i.dst}`;
  const s = `${R}${i.src}`;
  const src = info.source === "X" ? s : String(i.imm);
  const size = info.size ?? 8;
  switch (info.kind) {
    case "alu": {
      const sx = /^movsx(8|16|32)/.exec(name);
      if (sx) return `${d} = (s${sx[1]})${s}`;
      return `${d} ${ALU_SYM[name] ?? "?="} ${src}`;
    }
    case "neg":
      return `${d} = -${d}`;
    case "end":
      return `r${i.dst} = ${name} r${i.dst}`;
    case "ja":
      return info.is32 ? `gotol ${sgn(i.imm)}` : `goto ${sgn(i.off)}`;
    case "jcond":
      return `if ${d} ${JMP_SYM[name] ?? "?"} ${src} goto ${sgn(i.off)}`;
    case "call":
      if (i.src === BPF_PSEUDO_CALL) return `call pc${sgn(i.imm)}`;
      if (i.src === BPF_PSEUDO_KFUNC_CALL) return `call kfunc ${i.imm}`;
      return `call ${i.imm}`;
    case "callx":
      return `callx r${i.dst}`;
    case "exit":
      return "exit";
    case "lddw":
      return `r${i.dst} = ${lddwValue(i)} ll`;
    case "ldabs":
      return `r0 = *(${TYPE[size]} *)skb[${i.imm}]`;
    case "ldind":
      return `r0 = *(${TYPE[size]} *)skb[r${i.src} + ${i.imm}]`;
    case "ldx":
      return `r${i.dst} = *(${TYPE[size]} *)(${addr(i.src, i.off)})`;
    case "ldxsx":
      return `r${i.dst} = *(s${size * 8} *)(${addr(i.src, i.off)})`;
    case "st":
      return `*(${TYPE[size]} *)(${addr(i.dst, i.off)}) = ${i.imm}`;
    case "stx":
      return `*(${TYPE[size]} *)(${addr(i.dst, i.off)}) = r${i.src}`;
    case "atomic": {
      const w = size === 4 ? "w" : "r";
      const a = addr(i.dst, i.off);
      if (i.imm === BPF_XCHG) return size === 4 ? `${w}${i.src} = xchg32_32(${a}, ${w}${i.src})` : `r${i.src} = xchg_64(${a}, r${i.src})`;
      if (i.imm === BPF_CMPXCHG) {
        return size === 4 ? `w0 = cmpxchg32_32(${a}, w0, w${i.src})` : `r0 = cmpxchg_64(${a}, r0, r${i.src})`;
      }
      const op = i.imm & ~BPF_FETCH;
      if (i.imm & BPF_FETCH) return `${w}${i.src} = atomic_fetch_${ATOMIC_FN[op]}((${TYPE[size]} *)(${a}), ${w}${i.src})`;
      return `lock *(${TYPE[size]} *)(${a}) ${ATOMIC_SYM[op]} ${w}${i.src}`;
    }
  }
}

function lddwValue(i: Insn): string {
  switch (i.src) {
    case BPF_PSEUDO_MAP_FD:
      return `map[fd:${i.imm}]`;
    case BPF_PSEUDO_MAP_VALUE:
      return `map[fd:${i.imm}][0]${sgn(i.nextImm ?? 0)}`;
    case BPF_PSEUDO_MAP_IDX:
      return `map[idx:${i.imm}]`;
    case BPF_PSEUDO_MAP_IDX_VALUE:
      return `map[idx:${i.imm}][0]${sgn(i.nextImm ?? 0)}`;
    case BPF_PSEUDO_BTF_ID:
      return i.nextImm ? `btf_id[${i.imm}][${i.nextImm}]` : `btf_id[${i.imm}]`;
    case BPF_PSEUDO_FUNC:
      return `func[pc${sgn(i.imm)}]`;
    default:
      return BigInt.asIntN(64, lddwImm64(i)).toString();
  }
}
