/**
 * Loads and stores through pointers (check_mem_access and friends): stack,
 * context, map values and keys, packet data and helper-returned memory.
 * Each access is checked against the pointer's fixed offset plus the
 * bounds of its variable offset.
 */
import { type Vctx, BPF_MAX_VAR_OFF } from "./context.js";
import { type Reg, T, unknownScalar, ptrReg, markKnown } from "./reg-state.js";
import { BPF_F_RDONLY_PROG, BPF_F_WRONLY_PROG } from "./map-flags.js";
import { tnumAdd, tnumConst, tnumIsAligned, tnumCast } from "./tnum.js";
import { typeName } from "./log.js";
import { checkStackBounds, stackRead, stackWrite, varOffText } from "./stack.js";
import { boundsSync } from "./bounds.js";

/** __check_mem_access: [off, off+size) inside [0, memSize). Prints the detail line; returns false if not. */
function memOk(ctx: Vctx, regno: number, reg: Reg, off: number, size: number, memSize: number, zeroOk: boolean): boolean {
  const sizeOk = size > 0 || (size === 0 && zeroOk);
  if (off >= 0 && sizeOk && off + size <= memSize) return true;
  switch (reg.type) {
    case T.MapKey: ctx.note(`invalid access to map key, key_size=${memSize} off=${off} size=${size}`); break;
    case T.MapValue: ctx.note(`invalid access to map value, value_size=${memSize} off=${off} size=${size}`); break;
    case T.Packet: case T.PacketMeta: case T.PacketEnd:
      ctx.note(`invalid access to packet, off=${off} size=${size}, R${regno}(id=${reg.id},off=${off},r=${memSize})`); break;
    default: ctx.note(`invalid access to memory, mem_size=${memSize} off=${off} size=${size}`);
  }
  return false;
}

/**
 * check_packet_access: a packet pointer's range already counts from after
 * its variable offset, so only the fixed offset is checked against it.
 */
export function checkPacket(ctx: Vctx, regno: number, reg: Reg, off: number, size: number, zeroOk: boolean): void {
  if (reg.smin < 0n) ctx.fail("EACCES", `R${regno} min value is negative, either use unsigned index or do a if (index >=0) check.`);
  if (!memOk(ctx, regno, reg, off, size, reg.range, zeroOk)) ctx.fail("EACCES", `R${regno} offset is outside of the packet`);
}

/** check_mem_region_access: the access is safe for every value of the variable offset. */
export function checkRegion(ctx: Vctx, regno: number, reg: Reg, off: number, size: number, memSize: number, zeroOk: boolean): void {
  if (reg.smin < 0n && (reg.smin <= -(1n << 31n) || reg.smin + BigInt(off) < 0n)) {
    ctx.fail("EACCES", `R${regno} min value is negative, either use unsigned index or do a if (index >=0) check.`);
  }
  if (!memOk(ctx, regno, reg, Number(reg.smin) + off, size, memSize, zeroOk)) {
    ctx.fail("EACCES", `R${regno} min value is outside of the allowed memory range`);
  }
  if (reg.umax >= BigInt(BPF_MAX_VAR_OFF)) {
    ctx.fail("EACCES", `R${regno} unbounded memory access, make sure to bounds check any such access`);
  }
  if (!memOk(ctx, regno, reg, Number(reg.umax) + off, size, memSize, zeroOk)) {
    ctx.fail("EACCES", `R${regno} max value is outside of the allowed memory range`);
  }
}

export function checkMapAccessType(ctx: Vctx, reg: Reg, off: number, size: number, write: boolean): void {
  const m = reg.map!;
  if (write && m.mapFlags & BPF_F_RDONLY_PROG) {
    ctx.fail("EACCES", `write into map forbidden, value_size=${m.valueSize} off=${off} size=${size}`);
  }
  if (!write && m.mapFlags & BPF_F_WRONLY_PROG) {
    ctx.fail("EACCES", `read from map forbidden, value_size=${m.valueSize} off=${off} size=${size}`);
  }
}

function checkSpinLockOverlap(ctx: Vctx, reg: Reg, off: number, size: number): void {
  const lock = reg.map?.spinLockOff ?? -1;
  if (lock < 0) return;
  const lo = Number(reg.smin) + off;
  const hi = Number(reg.umax) + off + size;
  if (lo < lock + 4 && hi > lock) ctx.fail("EACCES", "bpf_spin_lock cannot be accessed directly by load/store");
}

/** check_ptr_alignment. The stack is always checked strictly (spill tracking relies on it). */
function checkAlignment(ctx: Vctx, reg: Reg, off: number, size: number, strictOnce: boolean): void {
  const strict = ctx.env.strictAlignment || strictOnce;
  if (size === 1) return;
  if (reg.type === T.Packet || reg.type === T.PacketMeta) {
    if (!strict) return;
    const ipAlign = 2;
    const t = tnumAdd(reg.varOff, tnumConst(BigInt(ipAlign + reg.off + off)));
    if (!tnumIsAligned(t, size)) {
      ctx.fail("EACCES", `misaligned packet access off ${ipAlign}+${varOffText(reg)}+${reg.off}+${off} size ${size}`);
    }
    return;
  }
  const desc = reg.type === T.MapValue ? "value " : reg.type === T.Ctx ? "context " : reg.type === T.Stack ? "stack " : "";
  if (!strict && reg.type !== T.Stack) return;
  const t = tnumAdd(reg.varOff, tnumConst(BigInt(reg.off + off)));
  if (!tnumIsAligned(t, size)) {
    ctx.fail("EACCES", `misaligned ${desc}access off ${varOffText(reg)}+${reg.off}+${off} size ${size}`);
  }
}

/** A loaded value of `size` bytes: zero-extended, or sign-extended for BPF_MEMSX. */
export function coerceLoaded(r: Reg, size: number, signExt: boolean): void {
  if (r.type !== T.Scalar || size >= 8) return;
  const bits = BigInt(size * 8);
  if (r.varOff.mask === 0n) {
    const v = signExt ? BigInt.asIntN(Number(bits), r.varOff.value) : BigInt.asUintN(Number(bits), r.varOff.value);
    markKnown(r, v);
    return;
  }
  const fresh = unknownScalar();
  if (signExt) {
    fresh.smin = -(1n << (bits - 1n));
    fresh.smax = (1n << (bits - 1n)) - 1n;
  } else {
    fresh.varOff = tnumCast(r.varOff, size);
    fresh.umin = 0n;
    fresh.umax = (1n << bits) - 1n;
  }
  Object.assign(r, fresh);
  boundsSync(r);
}

/**
 * check_mem_access: a load (`valueRegno` receives the value) or a store
 * (`value` is the stored register, undefined for BPF_ST with `imm`).
 */
export function checkMemAccess(
  ctx: Vctx, regno: number, insnOff: number, size: number, write: boolean,
  valueRegno: number, value: Reg | undefined, imm: number, signExt: boolean, strictOnce = false,
): Reg | undefined {
  const reg = ctx.regs()[regno]!;
  checkAlignment(ctx, reg, insnOff, size, strictOnce);
  const off = insnOff + reg.off;
  let result: Reg | undefined;
  const leak = (what: string): void => {
    if (write && value && ctx.isPtrValue(value)) ctx.fail("EACCES", `R${valueRegno} leaks addr into ${what}`);
  };
  const kinds = (k: string): void => {
    const f = ctx.fact(ctx.insnIdx);
    f.ptrKinds ??= [];
    if (!f.ptrKinds.includes(k)) f.ptrKinds.push(k);
  };
  switch (reg.type) {
    case T.MapKey:
      if (write) ctx.fail("EACCES", `write to change key R${regno} not allowed`);
      checkRegion(ctx, regno, reg, off, size, reg.map!.keySize, false);
      result = unknownScalar();
      kinds("map_key");
      break;
    case T.MapValue:
      leak("map");
      checkMapAccessType(ctx, reg, off, size, write);
      checkRegion(ctx, regno, reg, off, size, reg.map!.valueSize, false);
      checkSpinLockOverlap(ctx, reg, off, size);
      result = unknownScalar();
      kinds("map_value");
      break;
    case T.Mem:
      leak("mem");
      checkRegion(ctx, regno, reg, off, size, reg.memSize, false);
      result = unknownScalar();
      kinds("mem");
      break;
    case T.Ctx: {
      leak("ctx");
      if (reg.off) ctx.fail("EACCES", `dereference of modified ctx ptr R${regno} off=${reg.off} disallowed`);
      if (reg.varOff.mask !== 0n) ctx.fail("EACCES", `variable ctx access var_off=${varOffText(reg)} disallowed`);
      const a = ctx.env.progTypeOps.ctxAccess(off, size, write);
      if (!a) ctx.fail("EACCES", `invalid bpf_context access off=${off} size=${size}`);
      if (!write) {
        if (a.kind === "pkt") result = ptrReg(T.Packet);
        else if (a.kind === "pkt_meta") result = ptrReg(T.PacketMeta);
        else if (a.kind === "pkt_end") result = ptrReg(T.PacketEnd);
        else result = unknownScalar();
      }
      kinds("ctx");
      break;
    }
    case T.Stack: {
      if (write) {
        checkStackBounds(ctx, regno, reg, off, size, " write to", true);
        stackWrite(ctx, ctx.cur.frames[reg.frameno]!, reg, insnOff + reg.off, size, value, imm);
      } else {
        checkStackBounds(ctx, regno, reg, off, size, " read from", false);
        result = stackRead(ctx, ctx.cur.frames[reg.frameno]!, reg, insnOff + reg.off, size);
      }
      kinds("stack");
      break;
    }
    case T.Packet:
    case T.PacketMeta:
      if (write && !ctx.env.progTypeOps.directPacketAccess) ctx.fail("EACCES", "cannot write into packet");
      leak("packet");
      checkPacket(ctx, regno, reg, off, size, false);
      result = unknownScalar();
      kinds("pkt");
      break;
    default:
      ctx.fail("EACCES", `R${regno} invalid mem access '${typeName(reg.type)}'`);
  }
  ctx.fact(ctx.insnIdx).memInBounds = true;
  if (result && !write) coerceLoaded(result, size, signExt);
  return result;
}
