/**
 * Per-CPU glue between JIT code and JavaScript: the out-calls (helper,
 * fault, tail call, callx, map lookups, updates and deletes with 32-bit
 * arguments, and helpers that registered a 32-bit or numeric form) as wasm functions in a funcref table that every
 * program instance on that CPU imports (see frame.ts for why a table).
 *
 * The glue module (its imports re-exported) is compiled once per thread;
 * it is instantiated once per CpuContext with closures bound to that CPU.
 * Its state is per CPU, so programs on one CPU share it:
 *
 *   current      the program instance running (innermost), for callx and
 *                for cpu.callback; set and restored by JitProgram's entry
 *   helperDepth  frame depth and pc of the helper call in progress, for the
 *   helperPc     callbacks it makes (bpf_loop); a callback restores them
 *   pending      the tail-call target between tail_prep and tail_run
 *
 * Context: program on the CPU that owns `cpu` (one thread at a time).
 */
import { MAX_TAIL_CALL_CNT } from "../../uapi.js";
import { ProgramFault, type CompiledProgram, type CpuContext } from "../engine.js";
import { FaultCode, MAX_CALL_FRAMES, Slot, TABLE_SLOTS, TYPE_BYTES, Ty } from "./frame.js";
import { ByteWriter, ExternKind, Section } from "./wasm-writer.js";
import { inArena, type HelperEnv } from "../../helpers/helper-env.js";
import { mapDeleteElem, mapLookupElem, mapUpdateElem } from "../../helpers/impl/map-helpers.js";
import { HELPER_MAP_LOOKUP_ELEM } from "./inline-helpers.js";
import { HELPER32_CALL, helperImpl32, helperImplNum } from "../../helpers/helper-table.js";

/** Helper ids of bpf_map_update_elem and bpf_map_delete_elem. */
export const HELPER_MAP_UPDATE_ELEM = 2;
export const HELPER_MAP_DELETE_ELEM = 3;

/** A bpf function as JS sees an export: (r1..r5, depth) -> r0 (signed). */
export type WasmFn = (r1: bigint, r2: bigint, r3: bigint, r4: bigint, r5: bigint, depth: number) => bigint;

/** What a tail-call target may offer: running in the caller's frame. */
interface FrameRunnable {
  runAt(ctx: bigint, cpu: CpuContext, depth: number): bigint;
}

const u64 = (v: bigint): bigint => BigInt.asUintN(64, v);

export interface CpuGlue {
  readonly table: WebAssembly.Table;
  /** Exports of the innermost running program instance on this CPU. */
  current: WebAssembly.Exports | undefined;
  /** The cpu.callback JIT programs install while they run. */
  readonly callback: NonNullable<CpuContext["callback"]>;
}

let glueModule: WebAssembly.Module | undefined;
const glues = new WeakMap<CpuContext, CpuGlue>();

/** Slot order of the glue's imports/exports. */
const SLOTS: [keyof typeof Slot, number][] = [
  ["helper", Ty.helper],
  ["fault", Ty.fault],
  ["tailPrep", Ty.tailPrep],
  ["tailRun", Ty.tailRun],
  ["callx", Ty.callx],
  ["lookup32", Ty.lookup32],
  ["update32", Ty.update32],
  ["helper32", Ty.helper32],
  ["helperNum", Ty.helperNum],
];

function compileGlue(): WebAssembly.Module {
  const m = new ByteWriter();
  m.bytes([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]);
  const types = new ByteWriter().u32(TYPE_BYTES.length);
  for (const t of TYPE_BYTES) types.bytes(t);
  m.section(Section.type, types);
  const imports = new ByteWriter().u32(SLOTS.length);
  for (const [name, ty] of SLOTS) imports.name("env").name(name).u8(ExternKind.func).u32(ty);
  m.section(Section.import, imports);
  const exports = new ByteWriter().u32(SLOTS.length);
  SLOTS.forEach(([name], k) => exports.name(name).u8(ExternKind.func).u32(k));
  m.section(Section.export, exports);
  return new WebAssembly.Module(m.finish());
}

export function faultReason(code: number, addr: bigint): string {
  const n = code >> 4;
  const a = BigInt.asIntN(64, addr);
  const at = a < 0n ? `-0x${(-a).toString(16)}` : `0x${a.toString(16)}`;
  switch (code & 15) {
    case FaultCode.Read:
      return `invalid read of ${n} bytes at ${at}`;
    case FaultCode.Write:
      return `invalid write of ${n} bytes at ${at}`;
    case FaultCode.Atomic:
      return `invalid atomic access of ${n} bytes at ${at}`;
    case FaultCode.Misaligned:
      return `misaligned atomic access of ${n} bytes at ${at}`;
    case FaultCode.CallDepth:
      return `the call stack of ${MAX_CALL_FRAMES} frames is too deep`;
    default:
      return `fault ${code}`;
  }
}

/** The glue of `cpu`, made on first use. Program context on that CPU. */
export function cpuGlue(cpu: CpuContext): CpuGlue {
  const have = glues.get(cpu);
  if (have) return have;
  let helperDepth = 0;
  let helperPc = -1;
  let pending: CompiledProgram | undefined;

  const helper = (id: number, pc: number, depth: number, r1: bigint, r2: bigint, r3: bigint, r4: bigint, r5: bigint): bigint => {
    const h = cpu.helpers[id];
    if (!h) throw new ProgramFault(pc, `unknown helper ${id}`);
    helperDepth = depth;
    helperPc = pc;
    return h(cpu, u64(r1), u64(r2), u64(r3), u64(r4), u64(r5));
  };
  const fault = (pc: number, code: number, addr: bigint): never => {
    throw new ProgramFault(pc, faultReason(code, addr));
  };
  const tailPrep = (mapOff: bigint, index: bigint): number => {
    const lookup = cpu.tailCallTarget;
    // A map pointer above 4 GiB cannot be an arena offset: no target.
    if (!lookup || cpu.tailCalls >= MAX_TAIL_CALL_CNT || u64(mapOff) >> 32n !== 0n) return 0;
    const target = lookup(Number(mapOff), Number(BigInt.asUintN(32, index)));
    if (!target) return 0;
    cpu.tailCalls++;
    pending = target;
    return 1;
  };
  const tailRun = (depth: number, ctx: bigint): bigint => {
    const target = pending!;
    pending = undefined;
    const inFrame = target as Partial<FrameRunnable>;
    return typeof inFrame.runAt === "function" ? inFrame.runAt(u64(ctx), cpu, depth) : target.run(u64(ctx), cpu);
  };
  const callx = (pc: number, depth: number, target: bigint, r1: bigint, r2: bigint, r3: bigint, r4: bigint, r5: bigint): bigint => {
    // The interpreter's rule: a subprogram entry index is a local call, else a helper id.
    const t = u64(target);
    const f = t < 0x100000000n ? (glue.current?.[`f${t}`] as WasmFn | undefined) : undefined;
    if (typeof f === "function") {
      if (depth + 1 >= MAX_CALL_FRAMES) throw new ProgramFault(pc, faultReason(FaultCode.CallDepth, 0n));
      return f(r1, r2, r3, r4, r5, depth + 1);
    }
    if (t < 0x100000000n && cpu.helpers[Number(t)]) return helper(Number(t), pc, depth, r1, r2, r3, r4, r5);
    throw new ProgramFault(pc, `callx target 0x${t.toString(16)} is neither a subprogram nor a helper`);
  };
  /**
   * bpf_map_lookup_elem with 32-bit arguments (the JIT calls it when r1 and r2
   * fit in 32 bits): no BigInt crosses. Returns -1, "make the regular helper
   * call", whenever that call could do anything but return a pointer or NULL
   * (helper 1 replaced on this CPU, no map at r1, key outside the arena), so
   * errors and faults stay the helper's own.
   */
  const lookup32 = (pc: number, depth: number, r1: number, r2: number): number => {
    if (cpu.helpers[HELPER_MAP_LOOKUP_ELEM] !== mapLookupElem) return -1;
    const env = cpu.state["helperEnv"] as HelperEnv | undefined;
    const m = env?.mapAt(r1 >>> 0);
    if (m === undefined) return -1;
    if (!m.impl.lookupElem) return 0;
    const key = r2 >>> 0;
    if (!inArena(cpu.arena, key, m.view.keySize)) return -1;
    helperDepth = depth;
    helperPc = pc;
    return m.impl.lookupElem(key, cpu.cpu);
  };
  /**
   * bpf_map_update_elem (id 2) and bpf_map_delete_elem (id 3) with 32-bit
   * arguments, as lookup32. Returns the helper's result times two (always
   * even), or 1, "make the regular helper call", whenever that call could
   * do anything else (helper replaced, no map or no such operation, a key or
   * value outside the arena), so its errors and faults stay its own.
   */
  const update32 = (id: number, pc: number, depth: number, r1: number, r2: number, r3: number, r4: number): number => {
    const env = cpu.state["helperEnv"] as HelperEnv | undefined;
    const m = env?.mapAt(r1 >>> 0);
    if (m === undefined) return 1;
    const key = r2 >>> 0;
    if (!inArena(cpu.arena, key, m.view.keySize)) return 1;
    if (id === HELPER_MAP_UPDATE_ELEM) {
      if (cpu.helpers[id] !== mapUpdateElem || !m.impl.updateElem) return 1;
      const value = r3 >>> 0;
      if (!inArena(cpu.arena, value, m.view.valueSize)) return 1;
      helperDepth = depth;
      helperPc = pc;
      return m.impl.updateElem(key, value, r4 >>> 0, cpu.cpu) * 2;
    }
    if (cpu.helpers[id] !== mapDeleteElem || !m.impl.deleteElem) return 1;
    helperDepth = depth;
    helperPc = pc;
    return m.impl.deleteElem(key, cpu.cpu) * 2;
  };
  /**
   * A helper's registered 32-bit form (helper-table.ts), called when its
   * arguments fit in 32 bits: no BigInt crosses. HELPER32_CALL, "make the
   * regular helper call", when the CPU runs another implementation of `id`
   * or the form declines.
   */
  const helper32 = (id: number, pc: number, depth: number, r1: number, r2: number, r3: number, r4: number, r5: number): number => {
    const e = helperImpl32(id);
    if (e === undefined || cpu.helpers[id] !== e.impl) return HELPER32_CALL;
    helperDepth = depth;
    helperPc = pc;
    return e.fn(cpu, r1 >>> 0, r2 >>> 0, r3 >>> 0, r4 >>> 0, r5 >>> 0);
  };
  /**
   * A helper's registered numeric form (no arguments, e.g. the clock reads):
   * the result as a double, or -1, "make the regular helper call", when the
   * CPU runs another implementation of `id` or the form declines.
   */
  const helperNum = (id: number, pc: number, depth: number): number => {
    const e = helperImplNum(id);
    if (e === undefined || cpu.helpers[id] !== e.impl) return -1;
    helperDepth = depth;
    helperPc = pc;
    return e.fn(cpu);
  };
  const callback: CpuGlue["callback"] = (insnIndex, r1, r2, r3, r4, r5) => {
    const f = glue.current?.[`f${insnIndex}`] as WasmFn | undefined;
    if (typeof f !== "function") throw new ProgramFault(helperPc, `callback target ${insnIndex} is not a subprogram`);
    const outerDepth = helperDepth;
    const outerPc = helperPc;
    if (outerDepth + 1 >= MAX_CALL_FRAMES) throw new ProgramFault(outerPc, faultReason(FaultCode.CallDepth, 0n));
    try {
      return u64(f(r1, r2, r3, r4, r5, outerDepth + 1));
    } finally {
      // Helpers called inside the callback moved these; the helper that made
      // this callback may make more (bpf_loop), from its own frame.
      helperDepth = outerDepth;
      helperPc = outerPc;
    }
  };

  glueModule ??= compileGlue();
  const inst = new WebAssembly.Instance(glueModule, { env: { helper, fault, tailPrep, tailRun, callx, lookup32, update32, helper32, helperNum } });
  const table = new WebAssembly.Table({ element: "anyfunc", initial: TABLE_SLOTS });
  for (const [name] of SLOTS) table.set(Slot[name], inst.exports[name]);
  const glue: CpuGlue = { table, current: undefined, callback };
  glues.set(cpu, glue);
  return glue;
}
