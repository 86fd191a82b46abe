/**
 * Reads the C-like syntax that `llvm-objdump -d` prints and llvm-syntax.ts
 * writes, one instruction per line, so `bpfsim asm` accepts pasted objdump
 * output as well as the conformance syntax:
 *
 *   r0 = 1          w0 += w1        r1 s>>= 3       r0 = -r0       r0 = (s16)r1
 *   r1 = be16 r1    r1 = 0x1122334455667788 ll      r1 = map[fd:3] ll   r1 = map[fd:3][0]+16 ll
 *   r2 = *(u32 *)(r1 + 4)           *(u64 *)(r10 - 8) = r1         *(u8 *)(r1 + 0) = 7
 *   lock *(u64 *)(r0 + 0) += r1     r1 = atomic_fetch_add((u64 *)(r0 + 0), r1)
 *   r1 = xchg_64(r0 + 0, r1)        r0 = cmpxchg_64(r1 + 0, r0, r2)   (and the 32-bit forms)
 *   if r1 s> r2 goto +3 <LBB0_4>    goto -21    gotol L    call 1    call pc+5    call kfunc 7    callx r2
 *
 * A listing prefix (`  12:\t bf 45 00 ...\t`) and trailing `<label>`
 * annotations are ignored. Returns undefined when the line is not in this
 * syntax, so the caller can try the conformance syntax.
 *
 * Pure; callable from any thread.
 */
import {
  insn,
  splitImm64,
  BPF_ALU,
  BPF_ALU64,
  BPF_X,
  BPF_JMP,
  BPF_JMP32,
  BPF_END,
  BPF_TO_BE,
  BPF_CALL,
  BPF_JA,
  BPF_ATOMIC,
  BPF_STX,
  BPF_ST,
  BPF_LDX,
  BPF_MEM,
  BPF_MEMSX,
  BPF_FETCH,
  BPF_XCHG,
  BPF_CMPXCHG,
  BPF_W,
  BPF_DW,
  BPF_H,
  BPF_B,
  BPF_LD,
  BPF_ABS,
  BPF_IND,
  LDDW,
  BPF_PSEUDO_CALL,
  type Insn,
} from "@bpfsim/core";
import { asmError, parseImm32, parseImm64, parseOff16, parseTarget, type Target } from "./operands.js";

export interface LlvmParsed {
  insn: Insn;
  target?: Target;
  targetField?: "off" | "imm";
}

const ALU_OPS: Record<string, [number, number]> = {
  "+=": [0x00, 0], "-=": [0x10, 0], "*=": [0x20, 0], "/=": [0x30, 0], "|=": [0x40, 0], "&=": [0x50, 0],
  "<<=": [0x60, 0], ">>=": [0x70, 0], "%=": [0x90, 0], "^=": [0xa0, 0], "=": [0xb0, 0], "s>>=": [0xc0, 0],
  "s/=": [0x30, 1], "s%=": [0x90, 1],
};
const JMP_OPS: Record<string, number> = {
  "==": 0x10, ">": 0x20, ">=": 0x30, "&": 0x40, "!=": 0x50, "s>": 0x60, "s>=": 0x70, "<": 0xa0, "<=": 0xb0,
  "s<": 0xc0, "s<=": 0xd0,
};
const SIZES: Record<string, number> = { "8": BPF_B, "16": BPF_H, "32": BPF_W, "64": BPF_DW };
const ATOMIC: Record<string, number> = { add: 0x00, or: 0x40, and: 0x50, xor: 0xa0 };

const REG = "([rw])(\\d+)";
const NUM = "([+-]?(?:0x[0-9a-fA-F]+|\\d+))";
const MEMREF = `\\(r(\\d+)\\s*([+-])\\s*(\\d+|0x[0-9a-fA-F]+)\\)`;
const IMM_OR_REG = `(?:${REG}|${NUM})`;

function reg(n: string): number {
  const r = Number(n);
  if (r > 10) throw asmError(`register r${r} does not exist (r0..r10)`);
  return r;
}

const off16 = (sign: string, v: string): number => parseOff16(`${sign}${v}`);

/** Parses one llvm-syntax line (listing columns already stripped), or returns undefined. */
export function parseLlvmLine(line: string): LlvmParsed | undefined {
  const t = line.replace(/\s*<[^>]*>\s*$/, "").trim();
  let m: RegExpExecArray | null;
  if ((m = new RegExp(`^if ${REG} (\\S+) ${IMM_OR_REG} goto (\\S+)$`).exec(t))) {
    const op = JMP_OPS[m[3]!];
    if (op === undefined) throw asmError(`unknown comparison '${m[3]}'`);
    const cls = m[1] === "w" ? BPF_JMP32 : BPF_JMP;
    const target = parseTarget(m[7]!);
    if (m[5] !== undefined) return { insn: insn(cls | op | BPF_X, reg(m[2]!), reg(m[5]), 0, 0), target, targetField: "off" };
    return { insn: insn(cls | op, reg(m[2]!), 0, 0, parseImm32(m[6]!)), target, targetField: "off" };
  }
  if ((m = /^goto (\S+)$/.exec(t))) return { insn: insn(BPF_JMP | BPF_JA, 0, 0, 0, 0), target: parseTarget(m[1]!), targetField: "off" };
  if ((m = /^gotol (\S+)$/.exec(t))) return { insn: insn(BPF_JMP32 | BPF_JA, 0, 0, 0, 0), target: parseTarget(m[1]!), targetField: "imm" };
  if ((m = /^call pc([+-]\d+)$/.exec(t))) return { insn: insn(BPF_JMP | BPF_CALL, 0, BPF_PSEUDO_CALL, 0, 0), target: parseTarget(m[1]!), targetField: "imm" };
  if ((m = /^callx r(\d+)$/.exec(t))) return { insn: insn(BPF_JMP | BPF_CALL | BPF_X, reg(m[1]!), 0, 0, 0) };
  if ((m = new RegExp(`^lock \\*\\(u(32|64) \\*\\)${MEMREF} (\\S+) [rw](\\d+)$`).exec(t))) {
    const op = { "+=": 0x00, "|=": 0x40, "&=": 0x50, "^=": 0xa0 }[m[5]!];
    if (op === undefined) throw asmError(`unknown atomic operation '${m[5]}'`);
    return { insn: insn(BPF_STX | BPF_ATOMIC | SIZES[m[1]!]!, reg(m[2]!), reg(m[6]!), off16(m[3]!, m[4]!), op) };
  }
  if ((m = new RegExp(`^\\*\\(u(8|16|32|64) \\*\\)${MEMREF} = ${IMM_OR_REG}$`).exec(t))) {
    const size = SIZES[m[1]!]!;
    const off = off16(m[3]!, m[4]!);
    if (m[6] !== undefined) return { insn: insn(BPF_STX | BPF_MEM | size, reg(m[2]!), reg(m[6]), off, 0) };
    return { insn: insn(BPF_ST | BPF_MEM | size, reg(m[2]!), 0, off, parseImm32(m[7]!)) };
  }
  if (!(m = new RegExp(`^${REG} (\\S+) (.+)$`).exec(t))) return undefined;
  const w = m[1] === "w";
  const dst = reg(m[2]!);
  const op = m[3]!;
  const rhs = m[4]!.trim();
  const cls = w ? BPF_ALU : BPF_ALU64;
  if (op === "=") {
    let r: RegExpExecArray | null;
    if ((r = /^(.+) ll$/.exec(rhs))) return { insn: lddw(dst, r[1]!.trim()) };
    if ((r = new RegExp(`^\\*\\(([us])(8|16|32|64) \\*\\)${MEMREF}$`).exec(rhs))) {
      const mode = r[1] === "s" ? BPF_MEMSX : BPF_MEM;
      if (mode === BPF_MEMSX && r[2] === "64") throw asmError("there is no sign-extending 64-bit load");
      return { insn: insn(BPF_LDX | mode | SIZES[r[2]!]!, dst, reg(r[3]!), off16(r[4]!, r[5]!), 0) };
    }
    if ((r = /^\*\(u(8|16|32) \*\)skb\[(?:r(\d+) \+ )?([+-]?(?:0x[0-9a-fA-F]+|\d+))\]$/.exec(rhs))) {
      const size = SIZES[r[1]!]!;
      if (r[2] !== undefined) return { insn: insn(BPF_LD | BPF_IND | size, 0, reg(r[2]), 0, parseImm32(r[3]!)) };
      return { insn: insn(BPF_LD | BPF_ABS | size, 0, 0, 0, parseImm32(r[3]!)) };
    }
    if ((r = /^(be|le|bswap)(16|32|64) r(\d+)$/.exec(rhs))) {
      if (reg(r[3]!) !== dst) throw asmError("byte swaps work in place");
      const code = r[1] === "le" ? BPF_ALU | BPF_END : r[1] === "be" ? BPF_ALU | BPF_END | BPF_TO_BE : BPF_ALU64 | BPF_END;
      return { insn: insn(code, dst, 0, 0, Number(r[2])) };
    }
    if ((r = /^-[rw](\d+)$/.exec(rhs))) return { insn: insn(cls | 0x80, dst, 0, 0, 0) };
    if ((r = /^\(s(8|16|32)\)[rw](\d+)$/.exec(rhs))) return { insn: insn(cls | 0xb0 | BPF_X, dst, reg(r[2]!), Number(r[1]), 0) };
    if ((r = /^atomic_fetch_(add|or|and|xor)\(\(u(32|64) \*\)\(r(\d+) ([+-]) (\d+|0x[0-9a-fA-F]+)\), [rw](\d+)\)$/.exec(rhs))) {
      return { insn: insn(BPF_STX | BPF_ATOMIC | SIZES[r[2]!]!, reg(r[3]!), reg(r[6]!), off16(r[4]!, r[5]!), ATOMIC[r[1]!]! | BPF_FETCH) };
    }
    if ((r = /^(xchg_64|xchg32_32)\(r(\d+) ([+-]) (\d+|0x[0-9a-fA-F]+), [rw](\d+)\)$/.exec(rhs))) {
      const size = r[1] === "xchg_64" ? BPF_DW : BPF_W;
      return { insn: insn(BPF_STX | BPF_ATOMIC | size, reg(r[2]!), reg(r[5]!), off16(r[3]!, r[4]!), BPF_XCHG) };
    }
    if ((r = /^(cmpxchg_64|cmpxchg32_32)\(r(\d+) ([+-]) (\d+|0x[0-9a-fA-F]+), [rw]0, [rw](\d+)\)$/.exec(rhs))) {
      const size = r[1] === "cmpxchg_64" ? BPF_DW : BPF_W;
      return { insn: insn(BPF_STX | BPF_ATOMIC | size, reg(r[2]!), reg(r[5]!), off16(r[3]!, r[4]!), BPF_CMPXCHG) };
    }
  }
  const alu = ALU_OPS[op];
  if (!alu) throw asmError(`unknown operator '${op}'`);
  if ((m = /^[rw](\d+)$/.exec(rhs))) return { insn: insn(cls | alu[0] | BPF_X, dst, reg(m[1]!), alu[1], 0) };
  return { insn: insn(cls | alu[0], dst, 0, alu[1], parseImm32(rhs)) };
}

/** The value side of `rD = ... ll`. */
function lddw(dst: number, v: string): Insn {
  let m: RegExpExecArray | null;
  if ((m = /^map\[(fd|idx):(-?\d+)\](?:\[0\]([+-]\d+))?$/.exec(v))) {
    const withOff = m[3] !== undefined;
    const src = m[1] === "fd" ? (withOff ? 2 : 1) : withOff ? 6 : 5;
    return insn(LDDW, dst, src, 0, parseImm32(m[2]!), withOff ? parseImm32(m[3]!) : 0);
  }
  if ((m = /^btf_id\[(-?\d+)\](?:\[(-?\d+)\])?$/.exec(v))) return insn(LDDW, dst, 3, 0, parseImm32(m[1]!), m[2] ? parseImm32(m[2]) : 0);
  if ((m = /^func\[pc([+-]\d+)\]$/.exec(v))) return insn(LDDW, dst, 4, 0, Number(m[1]), 0);
  const { imm, nextImm } = splitImm64(parseImm64(v));
  return insn(LDDW, dst, 0, 0, imm, nextImm);
}

/** Strips an objdump listing prefix (`  12:\t bf 45 00 ... \t`), if any. */
export function stripListing(line: string): string {
  const m = /^\s*\d+:\s+((?:[0-9a-f]{2} ){7,15}[0-9a-f]{2})\s+(.*)$/.exec(line);
  return m ? m[2]! : line;
}
