/**
 * Assembler for the conformance corpus syntax (see the README of the
 * bpf_conformance corpus), one instruction per line:
 *
 *   mov32 %r0, 1            add %r1, %r2          neg32 %r3
 *   sdiv %r0, -3            movsx1664 %r0, %r1    be16 %r0 / bswap64 %r0
 *   ldxw %r0, [%r1+4]       ldxsb %r0, [%r1-1]    stdw [%r10-8], 7
 *   stxw [%r10-4], %r1      lock fetch add32 [%r10-8], %r1
 *   lock xchg [%r1], %r2    lock cmpxchg32 [%r1+0], %r2
 *   ja L / ja +3            ja32 L (gotol)        jsgt32 %r1, -1, L
 *   call 5 (helper)         call local L          call %r2 (callx)
 *   exit                    L:  (label on its own line; the first exit is also `exit`)
 *
 * `lddw` takes a 64-bit immediate or one of these pseudo forms (src_reg in
 * parentheses; the loader resolves them as Linux does):
 *
 *   lddw %r1, map_fd 3            (1) map by fd
 *   lddw %r1, map_value 3, 16     (2) address of value of map fd 3 at offset 16
 *   lddw %r1, btf_id 42[, 7]      (3) kernel BTF object [in module BTF fd 7]
 *   lddw %r1, func L | func +N    (4) address of a subprogram (imm = relative slot offset)
 *   lddw %r1, map_idx 0           (5) map by index into fd_array
 *   lddw %r1, map_idx_value 0, 8  (6) map value by index
 *
 * Legacy packet loads: `ldabsw 12`, `ldindh %r2, 14` (and b/w sizes).
 * `call kfunc N` emits a kfunc call (src 2). Comments start with `#`.
 *
 * Lines in the `llvm-objdump -d` syntax (`r0 += 1`, `if w1 > 5 goto +2`,
 * listing columns and `<label>` annotations included) are accepted too and
 * may be mixed with the above; see llvm-parse.ts.
 *
 * Pure; callable from any thread. Errors are BpfError(EINVAL) naming the line.
 */
import {
  BpfError,
  Errno,
  insn,
  encodeProgram,
  splitImm64,
  OPCODES,
  ATOMIC_OP_NAMES,
  type Insn,
  type OpInfo,
  BPF_ALU,
  BPF_ALU64,
  BPF_END,
  BPF_TO_BE,
  BPF_X,
  BPF_JMP,
  BPF_JMP32,
  BPF_JA,
  BPF_CALL,
  BPF_EXIT,
  BPF_STX,
  BPF_ATOMIC,
  BPF_W,
  BPF_DW,
  BPF_MOV,
  LDDW,
  BPF_PSEUDO_CALL,
  BPF_PSEUDO_KFUNC_CALL,
  BPF_PSEUDO_FUNC,
  BPF_PSEUDO_MAP_FD,
  BPF_PSEUDO_MAP_VALUE,
  BPF_PSEUDO_BTF_ID,
  BPF_PSEUDO_MAP_IDX,
  BPF_PSEUDO_MAP_IDX_VALUE,
} from "@bpfsim/core";
import {
  asmError,
  isReg,
  parseImm32,
  parseImm64,
  parseMem,
  parseReg,
  parseTarget,
  splitOperands,
  type Target,
} from "./operands.js";
import { parseLlvmLine, stripListing } from "./llvm-parse.js";

/** Instruction whose offset/imm still needs a label resolved. */
interface Pending {
  insn: Insn;
  line: number;
  target?: Target;
  /** Which field the resolved relative offset goes into. */
  targetField?: "off" | "imm";
}

const byName = new Map<string, OpInfo>();
for (const info of OPCODES.values()) byName.set(info.name, info);

/** Assembles source text into instruction bytes. */
export function assemble(source: string): Uint8Array {
  return encodeProgram(assembleInsns(source));
}

/** Assembles source text into decoded-form instructions (labels resolved). */
export function assembleInsns(source: string): Insn[] {
  const pending: Pending[] = [];
  const labels = new Map<string, number>();
  let slot = 0;
  const lines = source.split(/\r?\n/);
  for (let n = 0; n < lines.length; n++) {
    let text = stripListing(lines[n]!.replace(/#.*$/, "")).trim();
    // llvm-objdump headers: `file.o:  file format elf64-bpf`, `Disassembly of section xdp:`,
    // and symbol lines `0000000000000060 <LBB0_1>:` (which define the label).
    if (/^\S+:\s+file format /.test(text) || /^Disassembly of section /.test(text)) continue;
    const sym = /^[0-9a-f]+ <([^>]+)>:$/.exec(text);
    if (sym) text = `${sym[1]}:`;
    // Labels: `name:` alone, or in front of an instruction.
    for (let m = /^([A-Za-z_.$][\w.$]*):\s*/.exec(text); m; m = /^([A-Za-z_.$][\w.$]*):\s*/.exec(text)) {
      if (labels.has(m[1]!)) throw asmError(`line ${n + 1}: label '${m[1]}' defined twice`);
      labels.set(m[1]!, slot);
      text = text.slice(m[0].length);
    }
    if (text === "") continue;
    let p: Pending;
    try {
      p = parseLine(text, n + 1);
    } catch (e) {
      if (e instanceof BpfError) throw new BpfError(Errno.EINVAL, `line ${n + 1}: ${e.message.replace(/^EINVAL: /, "")}`);
      throw e;
    }
    if (p.insn.code === (BPF_JMP | BPF_EXIT) && !labels.has("exit")) labels.set("exit", slot);
    pending.push(p);
    slot += p.insn.code === LDDW ? 2 : 1;
  }
  // Resolve targets: relative to the slot after the instruction.
  const out: Insn[] = [];
  slot = 0;
  for (const p of pending) {
    let i = p.insn;
    if (p.target) {
      let rel: number;
      if ("rel" in p.target) rel = p.target.rel;
      else {
        const at = labels.get(p.target.label);
        if (at === undefined) throw asmError(`line ${p.line}: undefined label '${p.target.label}'`);
        rel = at - (slot + 1);
      }
      if (p.targetField === "off" && (rel < -32768 || rel > 32767)) {
        throw asmError(`line ${p.line}: jump offset ${rel} does not fit in 16 bits (use ja32)`);
      }
      i = p.targetField === "off" ? { ...i, off: rel } : { ...i, imm: rel | 0 };
    }
    out.push(i);
    slot += i.code === LDDW ? 2 : 1;
  }
  return out;
}

function want(ops: string[], n: number, mnemonic: string): void {
  if (ops.length !== n) throw asmError(`'${mnemonic}' takes ${n} operand${n === 1 ? "" : "s"}, got ${ops.length}`);
}

function parseLine(text: string, line: number): Pending {
  const llvm = parseLlvmLine(text);
  if (llvm) return { ...llvm, line };
  const sp = text.search(/\s/);
  let mn = (sp < 0 ? text : text.slice(0, sp)).toLowerCase();
  let rest = sp < 0 ? "" : text.slice(sp + 1).trim();
  if (mn === "lock") return parseAtomic(rest, line);
  if (mn === "lddw") return parseLddw(splitOperands(rest), line);
  if (mn === "call") return parseCall(rest.trim(), line);
  if (mn === "exit") {
    want(splitOperands(rest), 0, mn);
    return { insn: insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0), line };
  }
  const ops = splitOperands(rest);
  // Byte swaps: le16 / be32 / bswap64 / swap64.
  const end = /^(le|be|bswap|swap)(16|32|64)$/.exec(mn);
  if (end) {
    want(ops, 1, mn);
    const code = end[1] === "le" ? BPF_ALU | BPF_END : end[1] === "be" ? BPF_ALU | BPF_END | BPF_TO_BE : BPF_ALU64 | BPF_END;
    return { insn: insn(code, parseReg(ops[0]!), 0, 0, Number(end[2])), line };
  }
  const sx = /^movsx(8|16|32)(32|64)$/.exec(mn);
  if (sx) {
    want(ops, 2, mn);
    if (sx[2] === "32" && sx[1] === "32") throw asmError(`unknown mnemonic '${mn}'`);
    const cls = sx[2] === "32" ? BPF_ALU : BPF_ALU64;
    return { insn: insn(cls | BPF_MOV | BPF_X, parseReg(ops[0]!), parseReg(ops[1]!), Number(sx[1]), 0), line };
  }
  // sdiv/smod are div/mod with off = 1; a `64` suffix is the bare name.
  let off = 0;
  if (/^s(div|mod)(32|64)?$/.test(mn)) {
    off = 1;
    mn = mn.slice(1);
  }
  if (/^(add|sub|mul|div|or|and|lsh|rsh|neg|mod|xor|mov|arsh)64$/.test(mn)) mn = mn.slice(0, -2);
  const info = byName.get(mn);
  if (!info) throw asmError(`unknown mnemonic '${mn}'`);
  switch (info.kind) {
    case "neg":
      want(ops, 1, mn);
      return { insn: insn(info.code, parseReg(ops[0]!), 0, 0, 0), line };
    case "alu": {
      want(ops, 2, mn);
      const dst = parseReg(ops[0]!);
      if (isReg(ops[1]!)) return { insn: insn(info.code | BPF_X, dst, parseReg(ops[1]!), off, 0), line };
      return { insn: insn(info.code & ~BPF_X, dst, 0, off, parseImm32(ops[1]!)), line };
    }
    case "ja": {
      want(ops, 1, mn);
      if (info.cls === BPF_JMP32) return { insn: insn(BPF_JMP32 | BPF_JA, 0, 0, 0, 0), line, target: parseTarget(ops[0]!), targetField: "imm" };
      return { insn: insn(BPF_JMP | BPF_JA, 0, 0, 0, 0), line, target: parseTarget(ops[0]!), targetField: "off" };
    }
    case "jcond": {
      want(ops, 3, mn);
      const dst = parseReg(ops[0]!);
      const target = parseTarget(ops[2]!);
      if (isReg(ops[1]!)) return { insn: insn(info.code | BPF_X, dst, parseReg(ops[1]!), 0, 0), line, target, targetField: "off" };
      return { insn: insn(info.code & ~BPF_X, dst, 0, 0, parseImm32(ops[1]!)), line, target, targetField: "off" };
    }
    case "ldx":
    case "ldxsx": {
      want(ops, 2, mn);
      const m = parseMem(ops[1]!);
      return { insn: insn(info.code, parseReg(ops[0]!), m.reg, m.off, 0), line };
    }
    case "st": {
      want(ops, 2, mn);
      const m = parseMem(ops[0]!);
      return { insn: insn(info.code, m.reg, 0, m.off, parseImm32(ops[1]!)), line };
    }
    case "stx": {
      want(ops, 2, mn);
      const m = parseMem(ops[0]!);
      return { insn: insn(info.code, m.reg, parseReg(ops[1]!), m.off, 0), line };
    }
    case "ldabs":
      want(ops, 1, mn);
      return { insn: insn(info.code, 0, 0, 0, parseImm32(ops[0]!)), line };
    case "ldind":
      want(ops, 2, mn);
      return { insn: insn(info.code, 0, parseReg(ops[0]!), 0, parseImm32(ops[1]!)), line };
    case "callx":
      want(ops, 1, mn);
      return { insn: insn(BPF_JMP | BPF_CALL | BPF_X, parseReg(ops[0]!), 0, 0, 0), line };
    default:
      throw asmError(`unknown mnemonic '${mn}'`);
  }
}

/** `lock [fetch] add|or|and|xor|xchg|cmpxchg[32] [%rD+off], %rS`. */
function parseAtomic(rest: string, line: number): Pending {
  const m = /^(fetch\s+)?(add|or|and|xor|xchg|cmpxchg)(32|64)?\s+(.*)$/i.exec(rest);
  if (!m) throw asmError(`bad atomic instruction 'lock ${rest}'`);
  const opName = ((m[1] ? "fetch " : "") + m[2]!.toLowerCase()).replace(/^fetch (xchg|cmpxchg)$/, "$1");
  const entry = Object.entries(ATOMIC_OP_NAMES).find(([, n]) => n === opName);
  if (!entry) throw asmError(`unknown atomic operation '${opName}'`);
  const ops = splitOperands(m[4]!);
  want(ops, 2, "lock");
  const mem = parseMem(ops[0]!);
  const size = m[3] === "32" ? BPF_W : BPF_DW;
  return { insn: insn(BPF_STX | BPF_ATOMIC | size, mem.reg, parseReg(ops[1]!), mem.off, Number(entry[0])), line };
}

function parseLddw(ops: string[], line: number): Pending {
  if (ops.length < 2) throw asmError("'lddw' takes a register and an immediate");
  const dst = parseReg(ops[0]!);
  const pseudo = /^(map_fd|map_value|btf_id|func|map_idx|map_idx_value)\s+(.*)$/.exec(ops[1]!);
  if (!pseudo) {
    want(ops, 2, "lddw");
    const { imm, nextImm } = splitImm64(parseImm64(ops[1]!));
    return { insn: insn(LDDW, dst, 0, 0, imm, nextImm), line };
  }
  const kind = pseudo[1]!;
  const arg = pseudo[2]!;
  const src = {
    map_fd: BPF_PSEUDO_MAP_FD,
    map_value: BPF_PSEUDO_MAP_VALUE,
    btf_id: BPF_PSEUDO_BTF_ID,
    func: BPF_PSEUDO_FUNC,
    map_idx: BPF_PSEUDO_MAP_IDX,
    map_idx_value: BPF_PSEUDO_MAP_IDX_VALUE,
  }[kind]!;
  if (kind === "func") {
    want(ops, 2, "lddw");
    return { insn: insn(LDDW, dst, src, 0, 0, 0), line, target: parseTarget(arg), targetField: "imm" };
  }
  const withOff = kind === "map_value" || kind === "map_idx_value" || (kind === "btf_id" && ops.length === 3);
  want(ops, withOff ? 3 : 2, `lddw ${kind}`);
  return { insn: insn(LDDW, dst, src, 0, parseImm32(arg), withOff ? parseImm32(ops[2]!) : 0), line };
}

/** `call N`, `call local L`, `call kfunc N`, `call %rN`. */
function parseCall(rest: string, line: number): Pending {
  const local = /^local\s+(\S+)$/.exec(rest);
  if (local) return { insn: insn(BPF_JMP | BPF_CALL, 0, BPF_PSEUDO_CALL, 0, 0), line, target: parseTarget(local[1]!), targetField: "imm" };
  const kfunc = /^kfunc\s+(\S+)$/.exec(rest);
  if (kfunc) return { insn: insn(BPF_JMP | BPF_CALL, 0, BPF_PSEUDO_KFUNC_CALL, 0, parseImm32(kfunc[1]!)), line };
  if (isReg(rest)) return { insn: insn(BPF_JMP | BPF_CALL | BPF_X, parseReg(rest), 0, 0, 0), line };
  return { insn: insn(BPF_JMP | BPF_CALL, 0, 0, 0, parseImm32(rest)), line };
}
