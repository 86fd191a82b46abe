/**
 * Opcode metadata as data: one row per valid opcode byte, built once from the
 * field tables below. Executing code (interpreter, JIT) and text code
 * (assembler, disassembler) read it; nothing here executes anything.
 *
 * Variants that share an opcode byte are told apart by other fields, as in
 * Linux: sdiv/smod by off = 1, movsx by off = 8/16/32, the atomic operation by
 * imm, le/be widths by imm, local/kfunc calls by src. `variantName` names them.
 */
import * as O from "./opcodes.js";

/** How an opcode's fields are used; the assembler and validator switch on this. */
export type OpKind =
  | "alu" // dst op= src|imm
  | "neg" // dst = -dst
  | "end" // byte swap, width in imm
  | "ja" // goto off (JMP) or imm (JMP32: gotol)
  | "jcond" // if dst op src|imm goto off
  | "call" // helper / local / kfunc call, by src
  | "callx" // call through a register (dst)
  | "exit"
  | "lddw" // 64-bit immediate, two slots
  | "ldabs" // legacy packet load, absolute
  | "ldind" // legacy packet load, indirect
  | "ldx" // dst = *(size *)(src + off)
  | "ldxsx" // dst = *(signed size *)(src + off)
  | "st" // *(size *)(dst + off) = imm
  | "stx" // *(size *)(dst + off) = src
  | "atomic"; // atomic read-modify-write, op in imm

/** One row of the opcode table. */
export interface OpInfo {
  readonly code: number;
  /** Base mnemonic in the conformance syntax (`add`, `add32`, `jeq32`, `ldxw`, `be`...). */
  readonly name: string;
  readonly cls: number;
  readonly kind: OpKind;
  /** ALU/JMP operation or load/store mode, unshifted (`BPF_ADD`, `BPF_MEM`...). */
  readonly op: number;
  /** Operand source for ALU/JMP: "K" immediate, "X" register; null otherwise. */
  readonly source: "K" | "X" | null;
  /** Access width in bytes for loads, stores and atomics; null otherwise. */
  readonly size: 1 | 2 | 4 | 8 | null;
  /** True for 32-bit ALU and JMP32 forms. */
  readonly is32: boolean;
}

export const ALU_OP_NAMES: Readonly<Record<number, string>> = {
  [O.BPF_ADD]: "add",
  [O.BPF_SUB]: "sub",
  [O.BPF_MUL]: "mul",
  [O.BPF_DIV]: "div",
  [O.BPF_OR]: "or",
  [O.BPF_AND]: "and",
  [O.BPF_LSH]: "lsh",
  [O.BPF_RSH]: "rsh",
  [O.BPF_NEG]: "neg",
  [O.BPF_MOD]: "mod",
  [O.BPF_XOR]: "xor",
  [O.BPF_MOV]: "mov",
  [O.BPF_ARSH]: "arsh",
};

export const JMP_OP_NAMES: Readonly<Record<number, string>> = {
  [O.BPF_JEQ]: "jeq",
  [O.BPF_JGT]: "jgt",
  [O.BPF_JGE]: "jge",
  [O.BPF_JSET]: "jset",
  [O.BPF_JNE]: "jne",
  [O.BPF_JSGT]: "jsgt",
  [O.BPF_JSGE]: "jsge",
  [O.BPF_JLT]: "jlt",
  [O.BPF_JLE]: "jle",
  [O.BPF_JSLT]: "jslt",
  [O.BPF_JSLE]: "jsle",
};

/** Atomic operations by imm value (with or without BPF_FETCH where allowed). */
export const ATOMIC_OP_NAMES: Readonly<Record<number, string>> = {
  [O.BPF_ADD]: "add",
  [O.BPF_OR]: "or",
  [O.BPF_AND]: "and",
  [O.BPF_XOR]: "xor",
  [O.BPF_ADD | O.BPF_FETCH]: "fetch add",
  [O.BPF_OR | O.BPF_FETCH]: "fetch or",
  [O.BPF_AND | O.BPF_FETCH]: "fetch and",
  [O.BPF_XOR | O.BPF_FETCH]: "fetch xor",
  [O.BPF_XCHG]: "xchg",
  [O.BPF_CMPXCHG]: "cmpxchg",
};

const SIZE_SUFFIX: Readonly<Record<number, string>> = { [O.BPF_B]: "b", [O.BPF_H]: "h", [O.BPF_W]: "w", [O.BPF_DW]: "dw" };
const SIZES = [O.BPF_B, O.BPF_H, O.BPF_W, O.BPF_DW];

function buildTable(): Map<number, OpInfo> {
  const t = new Map<number, OpInfo>();
  const add = (row: OpInfo): void => {
    t.set(row.code, row);
  };
  for (const cls of [O.BPF_ALU, O.BPF_ALU64]) {
    const is32 = cls === O.BPF_ALU;
    const sfx = is32 ? "32" : "";
    for (const [opStr, name] of Object.entries(ALU_OP_NAMES)) {
      const op = Number(opStr);
      for (const src of [O.BPF_K, O.BPF_X]) {
        if (op === O.BPF_NEG && src === O.BPF_X) continue;
        add({
          code: cls | op | src,
          name: name + sfx,
          cls,
          kind: op === O.BPF_NEG ? "neg" : "alu",
          op,
          source: op === O.BPF_NEG ? null : src === O.BPF_K ? "K" : "X",
          size: null,
          is32,
        });
      }
    }
  }
  // Byte swaps: ALU|END|K = le, ALU|END|X = be, ALU64|END|K = bswap (v4).
  add({ code: O.BPF_ALU | O.BPF_END | O.BPF_TO_LE, name: "le", cls: O.BPF_ALU, kind: "end", op: O.BPF_END, source: "K", size: null, is32: true });
  add({ code: O.BPF_ALU | O.BPF_END | O.BPF_TO_BE, name: "be", cls: O.BPF_ALU, kind: "end", op: O.BPF_END, source: "X", size: null, is32: true });
  add({ code: O.BPF_ALU64 | O.BPF_END, name: "bswap", cls: O.BPF_ALU64, kind: "end", op: O.BPF_END, source: "K", size: null, is32: false });

  for (const cls of [O.BPF_JMP, O.BPF_JMP32]) {
    const is32 = cls === O.BPF_JMP32;
    const sfx = is32 ? "32" : "";
    for (const [opStr, name] of Object.entries(JMP_OP_NAMES)) {
      const op = Number(opStr);
      for (const src of [O.BPF_K, O.BPF_X]) {
        add({ code: cls | op | src, name: name + sfx, cls, kind: "jcond", op, source: src === O.BPF_K ? "K" : "X", size: null, is32 });
      }
    }
  }
  add({ code: O.BPF_JMP | O.BPF_JA, name: "ja", cls: O.BPF_JMP, kind: "ja", op: O.BPF_JA, source: "K", size: null, is32: false });
  add({ code: O.BPF_JMP32 | O.BPF_JA, name: "ja32", cls: O.BPF_JMP32, kind: "ja", op: O.BPF_JA, source: "K", size: null, is32: true });
  add({ code: O.BPF_JMP | O.BPF_CALL, name: "call", cls: O.BPF_JMP, kind: "call", op: O.BPF_CALL, source: "K", size: null, is32: false });
  add({ code: O.BPF_JMP | O.BPF_CALL | O.BPF_X, name: "callx", cls: O.BPF_JMP, kind: "callx", op: O.BPF_CALL, source: "X", size: null, is32: false });
  add({ code: O.BPF_JMP | O.BPF_EXIT, name: "exit", cls: O.BPF_JMP, kind: "exit", op: O.BPF_EXIT, source: "K", size: null, is32: false });

  add({ code: O.LDDW, name: "lddw", cls: O.BPF_LD, kind: "lddw", op: O.BPF_IMM, source: null, size: 8, is32: false });
  for (const size of [O.BPF_B, O.BPF_H, O.BPF_W]) {
    const n = O.sizeBytes(size);
    add({ code: O.BPF_LD | O.BPF_ABS | size, name: "ldabs" + SIZE_SUFFIX[size], cls: O.BPF_LD, kind: "ldabs", op: O.BPF_ABS, source: null, size: n, is32: false });
    add({ code: O.BPF_LD | O.BPF_IND | size, name: "ldind" + SIZE_SUFFIX[size], cls: O.BPF_LD, kind: "ldind", op: O.BPF_IND, source: null, size: n, is32: false });
  }
  for (const size of SIZES) {
    const n = O.sizeBytes(size);
    const s = SIZE_SUFFIX[size];
    add({ code: O.BPF_LDX | O.BPF_MEM | size, name: "ldx" + s, cls: O.BPF_LDX, kind: "ldx", op: O.BPF_MEM, source: null, size: n, is32: false });
    if (size !== O.BPF_DW) {
      add({ code: O.BPF_LDX | O.BPF_MEMSX | size, name: "ldxs" + s, cls: O.BPF_LDX, kind: "ldxsx", op: O.BPF_MEMSX, source: null, size: n, is32: false });
    }
    add({ code: O.BPF_ST | O.BPF_MEM | size, name: "st" + s, cls: O.BPF_ST, kind: "st", op: O.BPF_MEM, source: null, size: n, is32: false });
    add({ code: O.BPF_STX | O.BPF_MEM | size, name: "stx" + s, cls: O.BPF_STX, kind: "stx", op: O.BPF_MEM, source: null, size: n, is32: false });
  }
  add({ code: O.BPF_STX | O.BPF_ATOMIC | O.BPF_W, name: "lock32", cls: O.BPF_STX, kind: "atomic", op: O.BPF_ATOMIC, source: null, size: 4, is32: true });
  add({ code: O.BPF_STX | O.BPF_ATOMIC | O.BPF_DW, name: "lock", cls: O.BPF_STX, kind: "atomic", op: O.BPF_ATOMIC, source: null, size: 8, is32: false });
  return t;
}

/** Every valid opcode byte, keyed by the byte. */
export const OPCODES: ReadonlyMap<number, OpInfo> = buildTable();

/** Table row for an opcode byte, or undefined for an unknown opcode. */
export function opInfo(code: number): OpInfo | undefined {
  return OPCODES.get(code & 0xff);
}

/**
 * Full mnemonic of an instruction in the conformance syntax, taking the
 * variant fields into account (`sdiv32`, `movsx1664`, `be16`, `lock fetch add`).
 * Returns undefined when the variant field holds a value Linux rejects.
 */
export function variantName(info: OpInfo, off: number, imm: number): string | undefined {
  const sfx = info.is32 ? "32" : "";
  switch (info.kind) {
    case "alu":
      if (info.op === O.BPF_DIV || info.op === O.BPF_MOD) {
        if (off === 0) return info.name;
        if (off === 1) return "s" + info.name;
        return undefined;
      }
      if (info.op === O.BPF_MOV && info.source === "X" && off !== 0) {
        const ok = info.is32 ? off === 8 || off === 16 : off === 8 || off === 16 || off === 32;
        return ok ? `movsx${off}${info.is32 ? "32" : "64"}` : undefined;
      }
      return off === 0 ? info.name : undefined;
    case "end":
      return imm === 16 || imm === 32 || imm === 64 ? `${info.name}${imm}` : undefined;
    case "atomic": {
      const a = ATOMIC_OP_NAMES[imm];
      return a === undefined ? undefined : `lock ${a}${sfx}`;
    }
    default:
      return info.name;
  }
}
