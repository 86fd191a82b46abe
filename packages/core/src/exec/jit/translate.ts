/**
 * eBPF program -> WebAssembly module bytes.
 *
 * Module layout (see frame.ts for the function shape):
 *
 *   types    0 helper   (i32 id, i32 pc, i32 depth, i64 r1..r5) -> i64
 *            1 fault    (i32 pc, i32 code, i64 addr)    -> ()    throws
 *            2 bpf fn   (i64 r1..r5, i32 depth)         -> i64
 *            3 tail_prep(i64 map, i64 index)             -> i32
 *            4 tail_run (i32 depth, i64 ctx)             -> i64
 *            5 callx    (i32 pc, i32 depth, i64 target, i64 r1..r5) -> i64
 *            6 entry32  (i32 ctx)                        -> i32
 *   imports  env.mem   (memory pages pages shared)
 *            env.glue  (table of 5 funcref: the out-calls above, by slot)
 *            env.stack_top, env.cpu_id (immutable i64 globals)
 *   funcs    one per eBPF function, in program order; exported as
 *            "f<insn index of its entry>" (the main program is "f0");
 *            then "e0": calls f0(ctx, 0, 0, 0, 0, depth 0) and returns
 *            r0's low 32 bits (frame.ts, ENTRY32_EXPORT).
 *
 * The module depends only on the program and the arena size, never on a CPU:
 * compile it once and instantiate it per CPU (or post it to a worker).
 *
 * Context: compile time, any thread.
 */
import { BpfError, Errno } from "../../errno.js";
import { buildCfg, functionEntries, insnSlots, type BasicBlock } from "./cfg.js";
import { Cls, OP_LDDW, decodeInsns, type DecodedInsns } from "./decode.js";
import { emitAlu } from "./emit-alu.js";
import { emitCall, emitCond, emitExit } from "./emit-jmp.js";
import { emitLddw, emitMem } from "./emit-mem.js";
import { ENTRY32_EXPORT, EXTRA_F64_LOCALS, EXTRA_I32_LOCALS, EXTRA_I64_LOCALS, L_DEPTH, L_LABEL, REG_LOCAL, G_STACK_TOP, TABLE_SLOTS, TYPE_BYTES, Ty, type EmitEnv } from "./frame.js";
import type { InlinePlan } from "./inline-helpers.js";
import { CheckedRanges } from "./checked-ranges.js";
import { codeEstimate, emitStructured, type BlockEmitter } from "./structure.js";
import { ByteWriter, ExternKind, F64, I32, I64, Op, Section } from "./wasm-writer.js";

export interface TranslateResult {
  readonly bytes: Uint8Array;
  /** Insn index of each function's entry, in function index order. */
  readonly entries: readonly number[];
  /** Entries compiled as a dispatch loop because their graph is irreducible. */
  readonly dispatchFunctions: readonly number[];
}

const WASM_PAGE = 65536;
const FUNCREF = 0x70;
/** V8's limit on one function body (about 800k eBPF instructions of typical code). */
const MAX_FUNCTION_BYTES = 7_654_321;

/** Translates an instruction image for an arena of `arenaSize` bytes. Throws BpfError (EINVAL). */
export function translate(insnBytes: Uint8Array, arenaSize: number, inline: InlinePlan = new Map()): TranslateResult {
  return translateDecoded(decodeInsns(insnBytes), arenaSize, inline);
}

/** `translate` for instructions already decoded (the engine decodes once to plan inlining). */
export function translateDecoded(ins: DecodedInsns, arenaSize: number, inline: InlinePlan): TranslateResult {
  if (arenaSize % WASM_PAGE !== 0) throw new BpfError(Errno.EINVAL, `arena size ${arenaSize} is not whole wasm pages`);
  const env: EmitEnv = { arenaSize, r10ReadOnly: !writesR10(ins), inline, checked: new CheckedRanges() };
  const entries = functionEntries(ins);
  const indexOf = new Map<number, number>();
  entries.forEach((e, k) => indexOf.set(e, k));
  const funcIndex = (pc: number): number => {
    const f = indexOf.get(pc);
    if (f === undefined) throw new BpfError(Errno.EINVAL, `insn ${pc} is not a function entry`);
    return f;
  };

  const bodies: ByteWriter[] = [];
  const dispatchFunctions: number[] = [];
  for (let k = 0; k < entries.length; k++) {
    const entry = entries[k]!;
    const limit = k + 1 < entries.length ? entries[k + 1]! : ins.count;
    const cfg = buildCfg(ins, entry, limit);
    const em = blockEmitter(ins, env, funcIndex);
    const body = functionPrologue(new ByteWriter(codeEstimate(cfg)));
    if (emitStructured(cfg, em, L_LABEL, body)) dispatchFunctions.push(entry);
    // Every path has returned or branched by now; this keeps the validator's
    // view of the (unreachable) fall-off-the-end consistent with the i64 result.
    body.u8(Op.unreachable).u8(Op.end);
    if (body.length > MAX_FUNCTION_BYTES) {
      throw new BpfError(Errno.E2BIG, `function at insn ${entry} needs ${body.length} bytes of wasm, over the engine's limit of ${MAX_FUNCTION_BYTES}`);
    }
    bodies.push(body);
  }
  return { bytes: assemble(arenaSize / WASM_PAGE, entries, bodies), entries, dispatchFunctions };
}

/** Whether any instruction can change r10 (the verifier forbids it; the interpreter allows it). */
function writesR10(ins: DecodedInsns): boolean {
  for (let i = 0; i < ins.count; i++) {
    const op = ins.op[i]!;
    const cls = op & 7;
    if ((cls === Cls.ALU || cls === Cls.ALU64 || cls === Cls.LDX || op === OP_LDDW) && ins.dst[i] === 10) return true;
    if (cls === Cls.STX && (op & 0xe0) === 0xc0 && ins.src[i] === 10 && (ins.imm[i]! & 1) === 1) return true;
    if (op === OP_LDDW) i++;
  }
  return false;
}

function blockEmitter(ins: DecodedInsns, env: EmitEnv, funcIndex: (pc: number) => number): BlockEmitter {
  const funcRef = (pc: number): number => pc + ins.imm[pc]! + 1;
  return {
    body(w: ByteWriter, b: BasicBlock): void {
      const stop = b.termPc >= 0 ? b.termPc : b.end;
      env.checked.clear();
      for (let i = b.start; i < stop; i += insnSlots(ins, i)) {
        emitInsn(w, ins, i, env, funcIndex, funcRef);
        env.checked.afterInsn(ins, i);
      }
    },
    cond(w: ByteWriter, b: BasicBlock): void {
      emitCond(w, ins, b.termPc);
    },
    exit(w: ByteWriter): void {
      emitExit(w);
    },
  };
}

function emitInsn(
  w: ByteWriter,
  ins: DecodedInsns,
  i: number,
  env: EmitEnv,
  funcIndex: (pc: number) => number,
  funcRef: (pc: number) => number,
): void {
  const opc = ins.op[i]!;
  switch (opc & 7) {
    case Cls.ALU:
    case Cls.ALU64:
      return emitAlu(w, ins, i);
    case Cls.LD:
      if (opc !== OP_LDDW) throw new BpfError(Errno.EINVAL, `insn ${i}: legacy packet loads (0x${opc.toString(16)}) are not supported`);
      return emitLddw(w, ins, i, funcRef);
    case Cls.LDX:
    case Cls.ST:
    case Cls.STX:
      return emitMem(w, ins, i, env);
    default:
      // Only calls stay inside a block; jumps and exit are terminators.
      return emitCall(w, ins, i, funcIndex, env);
  }
}

/** Locals and the prologue computing r10. */
function functionPrologue(out: ByteWriter): ByteWriter {
  out.u32(3).u32(EXTRA_I64_LOCALS).u8(I64).u32(EXTRA_I32_LOCALS).u8(I32).u32(EXTRA_F64_LOCALS).u8(F64);
  // r10 = stack_top - depth * 512
  out.u8(Op.globalGet).u32(G_STACK_TOP);
  out.u8(Op.localGet).u32(L_DEPTH).u8(Op.i64ExtendI32U).u8(Op.i64Const).s32(9).u8(Op.i64Shl).u8(Op.i64Sub);
  out.u8(Op.localSet).u32(REG_LOCAL[10]!);
  return out;
}

function assemble(pages: number, entries: readonly number[], bodies: ByteWriter[]): Uint8Array {
  const total = bodies.reduce((n, b) => n + b.length + 5, 0);
  const m = new ByteWriter(total + 256);
  m.bytes([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]);

  const types = new ByteWriter().u32(TYPE_BYTES.length);
  for (const t of TYPE_BYTES) types.bytes(t);
  m.section(Section.type, types);

  const imports = new ByteWriter().u32(4);
  imports.name("env").name("mem").u8(ExternKind.memory).u8(0x03).u32(pages).u32(pages);
  imports.name("env").name("glue").u8(ExternKind.table).u8(FUNCREF).u8(0x00).u32(TABLE_SLOTS);
  imports.name("env").name("stack_top").u8(ExternKind.global).u8(I64).u8(0);
  imports.name("env").name("cpu_id").u8(ExternKind.global).u8(I64).u8(0);
  m.section(Section.import, imports);

  const funcs = new ByteWriter().u32(bodies.length + 1);
  for (let k = 0; k < bodies.length; k++) funcs.u32(Ty.fn);
  funcs.u32(Ty.entry32);
  m.section(Section.function, funcs);

  const exports = new ByteWriter().u32(entries.length + 1);
  entries.forEach((e, k) => exports.name(`f${e}`).u8(ExternKind.func).u32(k));
  exports.name(ENTRY32_EXPORT).u8(ExternKind.func).u32(bodies.length);
  m.section(Section.export, exports);

  // entry32: f0(u64(ctx), 0, 0, 0, 0, 0) wrapped to i32. Function 0 is the main program.
  const e32 = new ByteWriter().u32(0);
  e32.u8(Op.localGet).u32(0).u8(Op.i64ExtendI32U);
  for (let k = 0; k < 4; k++) e32.u8(Op.i64Const).s32(0);
  e32.u8(Op.i32Const).s32(0).u8(Op.call).u32(0).u8(Op.i32WrapI64).u8(Op.end);
  bodies = [...bodies, e32];

  // The code section is written in place: its size is known from the bodies.
  let codeSize = uleb128Size(bodies.length);
  for (const b of bodies) codeSize += uleb128Size(b.length) + b.length;
  m.u8(Section.code).u32(codeSize).u32(bodies.length);
  for (const b of bodies) m.u32(b.length).bytes(b.view());
  return m.view();
}

function uleb128Size(v: number): number {
  let n = 1;
  while (v >= 0x80) {
    v = Math.floor(v / 128);
    n++;
  }
  return n;
}
