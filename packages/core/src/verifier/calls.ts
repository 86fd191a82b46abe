/**
 * Calls and returns: helper calls checked against their prototype
 * (check_helper_call, check_func_arg), bpf-to-bpf calls and callbacks
 * (check_func_call, prepare_func_exit), program exit (check_return_code,
 * reference and lock leaks).
 */
import { type Vctx, MAX_CALL_FRAMES, BPF_MAX_VAR_SIZ } from "./context.js";
import type { Insn } from "./insn.js";
import { ArgType, RetType, type HelperProto } from "../helpers/proto.js";
import { type Reg, type VState, type Frame, T, notInit, unknownScalar, ptrReg, copyReg, newFrame, curFrame, isPointer } from "./reg-state.js";
import { typeName, frameStr } from "./log.js";
import { checkRegion, checkMapAccessType, checkPacket } from "./mem.js";
import { stackRangeForHelper, stackConst, constantMapKey } from "./stack.js";
import { mapAllowsHelper, helperAllowsMap } from "./map-compat.js";
import { helperNames } from "../helpers/func-names.js";
import { VerifierError } from "./errors.js";

/** Helpers whose argument checks make Linux print between the call and its state. */
const NEW_LINE_ARGS = new Set<ArgType>([ArgType.PtrToMem, ArgType.PtrToMemOrNull, ArgType.PtrToUninitMem, ArgType.ConstAllocSizeOrZero, ArgType.PtrToFunc]);
const FUNC_LOOP = 181;
const FUNC_FOR_EACH_MAP_ELEM = 164;
const FUNC_SPIN_LOCK = 93;
const FUNC_SPIN_UNLOCK = 94;
const FUNC_TAIL_CALL = 12;
const FUNC_MAP_LOOKUP_ELEM = 1;
const MAP_ARRAY = 2;
const MAP_PERCPU_ARRAY = 6;
const MAP_ARRAY_OF_MAPS = 12;
const MAP_HASH_OF_MAPS = 13;
const BPF_F_INNER_MAP = 0x1000;

/**
 * can_elide_value_nullness: array lookups with a constant key in range
 * cannot fail. Not for inner maps created with BPF_F_INNER_MAP, whose
 * stored arrays may be shorter than the template (bpfsim's choice).
 */
const canElideNullness = (m: Reg["map"]): boolean =>
  !!m && (m.mapType === MAP_ARRAY || m.mapType === MAP_PERCPU_ARRAY) && (m.mapFlags & BPF_F_INNER_MAP) === 0;
const BPF_FUNC_MAX_ID = 212;

const MEM_TYPES = [T.Stack, T.Packet, T.PacketMeta, T.MapKey, T.MapValue, T.Mem];
const MEM_NAMES = "fp, pkt, pkt_meta, map_key, map_value, mem, ringbuf_mem, buf, trusted_ptr_";

/** The kernel's func_id_name(): `bpf_<name>`, or "unknown". */
export function helperName(ctx: Vctx, id: number): string {
  const n = ctx.env.helpers(id)?.name ?? helperNames[id];
  return n ? `bpf_${n}` : "unknown";
}

interface Meta {
  map?: Reg["map"];
  memSize?: number;
  releaseRef?: number;
  subprog?: number;
  lockArg?: Reg;
  /** get_constant_map_key: the key a lookup in an array map is known to use. */
  constKey?: bigint;
}

function expectType(ctx: Vctx, regno: number, r: Reg, ok: T[], names: string): void {
  if (!ok.includes(r.type)) ctx.fail("EACCES", `R${regno} type=${typeName(r.type)} expected=${names}`);
}

const isNullScalar = (r: Reg): boolean => r.type === T.Scalar && r.varOff.mask === 0n && r.varOff.value === 0n;

/** check_helper_mem_access: `size` bytes at the pointer in `regno` may be read (or written when `write`). */
function helperMem(ctx: Vctx, regno: number, size: number, write: boolean, zeroOk: boolean): void {
  const r = curFrame(ctx.cur).regs[regno]!;
  if (zeroOk && size === 0 && isNullScalar(r)) return;
  if (size === 0 && !zeroOk) ctx.fail("EACCES", "invalid zero-sized read");
  switch (r.type) {
    case T.Packet: case T.PacketMeta:
      if (write && !ctx.env.progTypeOps.directPacketAccess) ctx.fail("EACCES", "cannot write into packet");
      checkPacket(ctx, regno, r, r.off, size, zeroOk);
      return;
    case T.MapKey:
      if (write) ctx.fail("EACCES", `R${regno} cannot write into map_key`);
      checkRegion(ctx, regno, r, r.off, size, r.map!.keySize, zeroOk);
      return;
    case T.MapValue:
      checkMapAccessType(ctx, r, r.off, size, write);
      checkRegion(ctx, regno, r, r.off, size, r.map!.valueSize, zeroOk);
      return;
    case T.Mem:
      checkRegion(ctx, regno, r, r.off, size, r.memSize, zeroOk);
      return;
    case T.Stack:
      stackRangeForHelper(ctx, regno, r, size, write, zeroOk);
      return;
    default:
      ctx.fail("EACCES", `R${regno} type=${typeName(r.type)} expected=${MEM_NAMES}`);
  }
}

function checkArg(ctx: Vctx, p: HelperProto, i: number, meta: Meta): void {
  const at = p.args[i]!;
  if (at === ArgType.DontCare) return;
  const regno = i + 1;
  const r = ctx.readReg(regno);
  switch (at) {
    case ArgType.Anything:
      if (ctx.isPtrValue(r)) ctx.fail("EACCES", `R${regno} leaks addr into helper function`);
      return;
    case ArgType.ConstMapPtr:
      expectType(ctx, regno, r, [T.ConstMapPtr], "map_ptr");
      meta.map = r.map;
      if (p.id === FUNC_TAIL_CALL && r.map?.mapType !== 3) {
        throw new VerifierError("EINVAL", "expected prog array map for tail call", ctx.insnIdx, [], true);
      }
      return;
    case ArgType.PtrToMapKey:
    case ArgType.PtrToMapValue: {
      expectType(ctx, regno, r, MEM_TYPES, MEM_NAMES);
      if (!meta.map) ctx.fail("EACCES", `invalid map_ptr to access map->${at === ArgType.PtrToMapKey ? "key" : "value"}`);
      const size = at === ArgType.PtrToMapKey ? meta.map.keySize : meta.map.valueSize;
      helperMem(ctx, regno, size, false, false);
      if (at === ArgType.PtrToMapKey && r.type === T.Stack && r.varOff.mask === 0n) {
        const k = stackConst(ctx.cur.frames[r.frameno]!, r.off + Number(r.varOff.value), Math.min(size, 8));
        if (k !== undefined && size <= 8) ctx.fact(ctx.insnIdx).constMapKey = k;
      }
      if (at === ArgType.PtrToMapKey && ctx.priv && canElideNullness(meta.map) && r.type === T.Stack && r.varOff.mask === 0n) {
        meta.constKey = constantMapKey(ctx.cur.frames[r.frameno]!, r.off + Number(BigInt.asIntN(64, r.varOff.value)), size);
      }
      return;
    }
    case ArgType.PtrToMem:
    case ArgType.PtrToMemOrNull:
    case ArgType.PtrToUninitMem:
      if (at === ArgType.PtrToMemOrNull && isNullScalar(r)) return;
      expectType(ctx, regno, r, MEM_TYPES, MEM_NAMES);
      return; // checked with the size argument that follows
    case ArgType.ConstSize:
    case ArgType.ConstSizeOrZero: {
      expectType(ctx, regno, r, [T.Scalar], "scalar");
      const zeroOk = at === ArgType.ConstSizeOrZero;
      if (r.smin < 0n) ctx.fail("EACCES", `R${regno} min value is negative, either use unsigned or 'var &= const'`);
      if (r.umin === 0n && !zeroOk) ctx.fail("EACCES", `R${regno} invalid zero-sized read: u64=[${r.umin},${r.umax}]`);
      if (r.umax >= BigInt(BPF_MAX_VAR_SIZ)) ctx.fail("EACCES", `R${regno} unbounded memory access, use 'var &= const' or 'if (var < const)'`);
      const write = p.args[i - 1] === ArgType.PtrToUninitMem;
      helperMem(ctx, regno - 1, Number(r.umax), write, zeroOk);
      return;
    }
    case ArgType.ConstAllocSizeOrZero:
      expectType(ctx, regno, r, [T.Scalar], "scalar");
      if (r.varOff.mask !== 0n) ctx.fail("EACCES", `R${regno} is not a known constant'`);
      meta.memSize = Number(r.varOff.value);
      return;
    case ArgType.PtrToCtx:
    case ArgType.PtrToCtxOrNull:
      if (at === ArgType.PtrToCtxOrNull && isNullScalar(r)) return;
      expectType(ctx, regno, r, [T.Ctx], "ctx");
      if (r.off || r.varOff.mask !== 0n) ctx.fail("EACCES", `dereference of modified ctx ptr R${regno} off=${r.off} disallowed`);
      return;
    case ArgType.PtrToSpinLock:
      expectType(ctx, regno, r, [T.MapValue], "map_value");
      if (r.varOff.mask !== 0n) ctx.fail("EINVAL", `R${regno} doesn't have constant offset. bpf_spin_lock has to be at the constant offset`);
      if ((r.map?.spinLockOff ?? -1) < 0) {
        const name = r.map?.name ?? "";
        if (!r.map?.btf) ctx.fail("EINVAL", `map '${name}' has to have BTF in order to use bpf_spin_lock`);
        ctx.fail("EINVAL", `map '${name}' has no valid bpf_spin_lock`);
      }
      if (r.map!.spinLockOff !== r.off + Number(r.varOff.value)) {
        ctx.fail("EINVAL", `off ${r.off + Number(r.varOff.value)} doesn't point to 'struct bpf_spin_lock' that is at ${r.map!.spinLockOff}`);
      }
      meta.lockArg = r;
      return;
    case ArgType.PtrToFunc:
      expectType(ctx, regno, r, [T.Func], "func");
      meta.subprog = r.subprog;
      return;
    case ArgType.PtrToStackOrNull:
      if (isNullScalar(r)) return;
      expectType(ctx, regno, r, [T.Stack], "fp");
      return;
    case ArgType.PtrToLong:
      expectType(ctx, regno, r, [T.Stack, T.MapValue], "fp, map_value");
      helperMem(ctx, regno, 8, true, false);
      return;
    case ArgType.PtrToConstStr:
      expectType(ctx, regno, r, [T.MapValue], "map_value");
      if (!((r.map?.mapFlags ?? 0) & (1 << 7))) ctx.fail("EACCES", `R${regno} does not point to a readonly map'`);
      return;
    case ArgType.PtrToRingbufMem:
      expectType(ctx, regno, r, [T.Mem], "ringbuf_mem");
      if (!r.refObjId) ctx.fail("EINVAL", `R${regno} must be referenced when passed to release function`);
      if (r.off || r.varOff.mask !== 0n) {
        ctx.fail("EINVAL", `R${regno} must have zero offset when passed to release func or trusted arg to kfunc`);
      }
      meta.releaseRef = r.refObjId;
      return;
    default:
      ctx.fail("EINVAL", `R${regno} argument type ${at} is not supported`);
  }
}

/** Invalidates every register that points into a released reference. */
function releaseReference(ctx: Vctx, st: VState, refId: number): void {
  if (!st.refs.some((x) => x.id === refId)) ctx.fail("EINVAL", `release_reference: id=${refId} not found`);
  st.refs = st.refs.filter((x) => x.id !== refId);
  for (const f of st.frames) {
    f.regs.forEach((r, i) => {
      if (r.refObjId === refId) f.regs[i] = ctx.priv ? unknownScalar() : notInit();
    });
    for (const s of f.stack) if (s.spilled?.refObjId === refId) s.spilled = unknownScalar();
  }
}

/**
 * A callback's entry registers (the kernel's set_*_callback_state), from
 * the caller's registers before the call clobbers them.
 */
function callbackArgs(ctx: Vctx, id: number, regs: Reg[], meta: Meta): Reg[] | undefined {
  if (meta.subprog === undefined) return undefined;
  if (id === FUNC_LOOP) return [unknownScalar(), copyReg(regs[3]!)];
  if (id === FUNC_FOR_EACH_MAP_ELEM) {
    const map = ptrReg(T.ConstMapPtr);
    map.map = meta.map;
    const key = ptrReg(T.MapKey);
    key.map = meta.map;
    const value = ptrReg(T.MapValue);
    value.map = meta.map;
    return [map, key, value, copyReg(regs[3]!)];
  }
  ctx.fail("EINVAL", `callbacks of ${helperName(ctx, id)}#${id} are not supported`);
}

export function checkHelperCall(ctx: Vctx, insn: Insn): { callback?: number; cbArgs?: Reg[] } {
  const id = insn.imm;
  if (id < 0 || id >= BPF_FUNC_MAX_ID) ctx.fail("EINVAL", `invalid func unknown#${id}`);
  const p = ctx.env.helpers(id);
  if (!p || !ctx.env.progTypeOps.helperAllowed(id)) {
    ctx.fail("EINVAL", `program of this type cannot use helper ${helperName(ctx, id)}#${id}`);
  }
  if (p.gplOnly && ctx.env.gplCompatible === false) ctx.fail("EINVAL", "cannot call GPL-restricted function from non-GPL compatible program");
  const meta: Meta = {};
  if (p.args.some((t) => NEW_LINE_ARGS.has(t))) ctx.stateOnNewLine = true;
  for (let i = 0; i < 5 && i < p.args.length; i++) checkArg(ctx, p, i, meta);
  if (meta.map) {
    if (!helperAllowsMap(p, meta.map.mapType) || !mapAllowsHelper(meta.map.mapType, id)) {
      ctx.fail("EINVAL", `cannot pass map_type ${meta.map.mapType} into func bpf_${p.name}#${id}`);
    }
  }
  const st = ctx.cur;
  if (id === FUNC_SPIN_LOCK) {
    if (st.activeLock) ctx.fail("EINVAL", "Locking two bpf_spin_locks are not allowed");
    st.activeLock = meta.lockArg!.id || -1;
  } else if (id === FUNC_SPIN_UNLOCK) {
    if (!st.activeLock) ctx.fail("EINVAL", "bpf_spin_unlock without taking a lock");
    if (st.activeLock !== (meta.lockArg!.id || -1)) ctx.fail("EINVAL", "bpf_spin_unlock of different lock");
    st.activeLock = 0;
  }
  if (id === FUNC_TAIL_CALL && st.refs.length) ctx.fail("EINVAL", "tail_call would lead to reference leak");
  if (meta.releaseRef !== undefined) releaseReference(ctx, st, meta.releaseRef);
  const regs = curFrame(st).regs;
  const cbArgs = callbackArgs(ctx, id, regs, meta);
  for (let r = 0; r <= 5; r++) {
    regs[r] = notInit();
    ctx.scratched.add(r);
  }
  let r0: Reg;
  switch (p.ret) {
    case RetType.Void: r0 = notInit(); break;
    case RetType.PtrToMapValueOrNull:
      if (!meta.map) ctx.fail("EINVAL", "kernel subsystem misconfigured verifier");
      if (meta.map.mapType === MAP_ARRAY_OF_MAPS || meta.map.mapType === MAP_HASH_OF_MAPS) {
        // Linux's inner_map_meta: a null-checked lookup is a map pointer with the template's attributes.
        if (!meta.map.innerMap) ctx.fail("EINVAL", "map-in-map lookup: the inner map template is unknown to the verifier");
        r0 = ptrReg(T.ConstMapPtrOrNull);
        r0.map = meta.map.innerMap;
        r0.id = ctx.newId();
        break;
      }
      // A lookup in an array with a constant key in range cannot fail: Linux drops PTR_MAYBE_NULL.
      if (insn.imm === FUNC_MAP_LOOKUP_ELEM && meta.constKey !== undefined && meta.constKey >= 0n && meta.constKey < BigInt(meta.map.maxEntries)) {
        r0 = ptrReg(T.MapValue);
        r0.map = meta.map;
        if (meta.map.spinLockOff >= 0) r0.id = ctx.newId();
        break;
      }
      r0 = ptrReg(T.MapValueOrNull);
      r0.map = meta.map;
      r0.id = ctx.newId();
      break;
    case RetType.PtrToAllocMemOrNull:
      r0 = ptrReg(T.MemOrNull);
      r0.memSize = meta.memSize ?? 0;
      r0.id = ctx.newId();
      break;
    default: r0 = unknownScalar();
  }
  if (p.acquires && isPointer(r0)) {
    r0.id = ctx.newId();
    r0.refObjId = r0.id;
    st.refs.push({ id: r0.id, insn: ctx.insnIdx, kind: "ptr" });
  }
  regs[0] = r0;
  if (pktChanging(p)) invalidatePkt(st);
  return { callback: cbArgs ? meta.subprog : undefined, cbArgs };
}

/**
 * bpf_helper_changes_pkt_data(): after these helpers every packet pointer
 * is invalid (the packet may have moved or changed size).
 */
const CHANGES_PKT_DATA = new Set([
  9, 10, 11, 13, 18, 19, 31, 38, 39, 43, 44, 50, 54, 63, 65, 73, 74, 75, 76, 90, 91,
]);

function pktChanging(p: HelperProto): boolean {
  return CHANGES_PKT_DATA.has(p.id);
}

function invalidatePkt(st: VState): void {
  for (const f of st.frames) {
    f.regs.forEach((r, i) => {
      if (r.type === T.Packet || r.type === T.PacketMeta || r.type === T.PacketEnd) f.regs[i] = unknownScalar();
    });
    for (const s of f.stack) {
      if (s.spilled && (s.spilled.type === T.Packet || s.spilled.type === T.PacketMeta || s.spilled.type === T.PacketEnd)) {
        s.spilled = unknownScalar();
      }
    }
  }
}

const framePrefix = (f: Frame): string => (f.frameno ? `frame${f.frameno}: ` : "");

/** A bpf-to-bpf call (or a callback entry): push a frame whose r1..r5 are the caller's. */
export function pushFrame(ctx: Vctx, target: number, callsite: number, cbArgs?: Reg[]): void {
  const st = ctx.cur;
  if (st.frames.length >= MAX_CALL_FRAMES) {
    ctx.fail("E2BIG", `the call stack of ${st.frames.length + 1} frames is too deep`);
  }
  const caller = curFrame(st);
  const f = newFrame(st.frames.length, callsite, ctx.subprogOf(target));
  if (cbArgs) {
    f.inCallback = true;
    cbArgs.forEach((r, i) => (f.regs[i + 1] = r));
  } else {
    for (let r = 1; r <= 5; r++) f.regs[r] = copyReg(caller.regs[r]!);
    for (let r = 0; r <= 5; r++) caller.regs[r] = notInit();
  }
  st.frames.push(f);
  if (ctx.env.logLevel > 0 && !cbArgs) {
    ctx.note("caller:");
    ctx.note(` ${framePrefix(caller)}${frameStr(caller)}`);
    ctx.note("callee:");
    ctx.note(` ${framePrefix(f)}${frameStr(f)}`);
  }
  ctx.allScratched = true;
}

/** Exit from a subprogram or callback: r0 goes to the caller, execution resumes after the call. */
export function popFrame(ctx: Vctx): number {
  const st = ctx.cur;
  const callee = curFrame(st);
  const r0 = callee.regs[0]!;
  // A subprogram may return without setting r0; the caller fails only if it reads it.
  if (callee.inCallback && r0.type === T.NotInit) ctx.fail("EACCES", "R0 !read_ok");
  if (r0.type === T.Stack && r0.frameno === callee.frameno) ctx.fail("EINVAL", "cannot return stack pointer to the caller");
  st.frames.pop();
  const caller = curFrame(st);
  if (callee.inCallback) {
    if (r0.type !== T.Scalar) ctx.fail("EACCES", "R0 not a scalar value");
    if (r0.smin < 0n || r0.smax > 1n) {
      ctx.fail("EINVAL", `At callback return the register R0 has smin=${r0.smin} smax=${r0.smax} should have been in [0, 1]`);
    }
    caller.regs[0] = unknownScalar();
  } else caller.regs[0] = r0;
  ctx.scratched.add(0);
  if (ctx.env.logLevel > 0) {
    ctx.note("returning from callee:");
    ctx.note(` ${framePrefix(callee)}${frameStr(callee)}`);
    ctx.note(`to caller at ${callee.callsite + 1}:`);
    ctx.note(` ${framePrefix(caller)}${frameStr(caller)}`);
  }
  ctx.scratched.clear();
  return callee.callsite + 1;
}

/** BPF_EXIT of the main program. */
export function checkMainExit(ctx: Vctx): void {
  const st = ctx.cur;
  if (st.activeLock) ctx.fail("EINVAL", "BPF_EXIT instruction in main prog cannot be used inside bpf_spin_lock-ed region");
  if (st.refs.length) {
    for (const leak of st.refs) ctx.note(`Unreleased reference id=${leak.id} alloc_insn=${leak.insn}`);
    ctx.fail("EINVAL", "BPF_EXIT instruction in main prog would lead to reference leak");
  }
  const r0 = ctx.readReg(0);
  const range = ctx.env.progTypeOps.progType === 8 ? [0n, 1n] : undefined; // cgroup_skb ingress
  if (range) {
    if (r0.type !== T.Scalar) ctx.fail("EINVAL", `At program exit the register R0 is not a known value (${typeName(r0.type)})`);
    if (r0.smin < range[0]! || r0.smax > range[1]!) {
      ctx.fail("EINVAL", `At program exit the register R0 has smin=${r0.smin} smax=${r0.smax} should have been in [${range[0]}, ${range[1]}]`);
    }
  }
  if (ctx.isPtrValue(r0)) ctx.fail("EACCES", "R0 leaks addr as return value");
}
