/**
 * Stack slots (check_stack_write_fixed_off, check_stack_read_fixed_off and
 * their variable-offset forms). A frame's stack is 512 bytes, tracked as
 * 8-byte slots of per-byte kinds; an 8-byte aligned register spill keeps the
 * register's whole state so that a later fill restores it.
 */
import { type Vctx, MAX_BPF_STACK, BPF_MAX_VAR_OFF } from "./context.js";
import { type Reg, type Frame, type StackSlot, T, Slot, copyReg, unknownScalar, constScalar, isPointer } from "./reg-state.js";
import { tnumStr } from "./tnum.js";

function slotAt(f: Frame, spi: number): StackSlot {
  while (f.stack.length <= spi) f.stack.push({ kinds: [0, 0, 0, 0, 0, 0, 0, 0] });
  return f.stack[spi]!;
}

/** spi and byte index of stack byte at fp+off (off < 0). */
const loc = (off: number): [number, number] => {
  const spi = Math.floor((-off - 1) / 8);
  return [spi, off + (spi + 1) * 8];
};

export function varOffText(r: Reg): string {
  return r.varOff.mask === 0n ? BigInt.asIntN(64, r.varOff.value).toString() : tnumStr(r.varOff);
}

/** check_stack_access_within_bounds. `kind` is " read from", " write to" or " indirect access to". */
export function checkStackBounds(ctx: Vctx, regno: number, reg: Reg, off: number, size: number, kind: string, write: boolean): [number, number] {
  let minOff: number, maxOff: number;
  if (reg.varOff.mask === 0n) {
    minOff = Number(BigInt.asIntN(64, reg.varOff.value)) + off;
    maxOff = minOff + size;
  } else {
    if (reg.smax >= BigInt(BPF_MAX_VAR_OFF) || reg.smin <= -BigInt(BPF_MAX_VAR_OFF)) {
      ctx.fail("EACCES", `invalid unbounded variable-offset${kind} stack R${regno}`);
    }
    minOff = Number(reg.smin) + off;
    maxOff = Number(reg.smax) + off + size;
  }
  const minValid = write || ctx.priv ? -MAX_BPF_STACK : -allocated(ctx.frame());
  // check_stack_slot_within_bounds fails with EACCES; an access reaching fp+0 or above with EINVAL.
  let errno: "EACCES" | "EINVAL" | undefined = minOff < minValid || minOff > -1 ? "EACCES" : maxOff > 0 || size < 0 ? "EINVAL" : undefined;
  if (!write && !ctx.priv && !errno && minOff < -allocated(ctx.frame())) errno = "EACCES";
  if (errno) {
    if (reg.varOff.mask === 0n) ctx.fail(errno, `invalid${kind} stack R${regno} off=${off} size=${size}`);
    ctx.fail(errno, `invalid variable-offset${kind} stack R${regno} var_off=${tnumStr(reg.varOff)} off=${off} size=${size}`);
  }
  return [minOff, maxOff];
}

const allocated = (f: Frame): number => f.stack.length * 8;

function noteDepth(ctx: Vctx, f: Frame, minOff: number): void {
  const sp = f.subprog;
  if (-minOff > ctx.stackDepth[sp]!) ctx.stackDepth[sp] = -minOff;
}

/** Store `size` bytes at fp+off of frame `f`; `val` is the stored register (undefined for BPF_ST with `imm`). */
export function stackWrite(ctx: Vctx, f: Frame, reg: Reg, off: number, size: number, val: Reg | undefined, imm: number): void {
  noteDepth(ctx, f, reg.varOff.mask === 0n ? Number(reg.varOff.value) + off : Number(reg.smin) + off);
  if (reg.varOff.mask !== 0n) {
    // Variable offset: every byte that may be written loses what it held.
    const lo = Number(reg.smin) + off;
    const hi = Number(reg.smax) + off + size;
    const zero = val ? val.type === T.Scalar && val.varOff.mask === 0n && val.varOff.value === 0n : imm === 0;
    for (let a = lo; a < hi; a++) {
      const [spi, b] = loc(a);
      const s = slotAt(f, spi);
      if (s.spilled && isPointer(s.spilled) && !ctx.priv) ctx.fail("EACCES", "attempt to corrupt spilled pointer on stack");
      if (s.spilled) {
        s.spilled = undefined;
        for (let k = 0; k < 8; k++) if (s.kinds[k] === Slot.Spill) s.kinds[k] = Slot.Misc;
      }
      if (!(zero && s.kinds[b] === Slot.Zero)) s.kinds[b] = Slot.Misc;
      ctx.scratchedSlots.add(spi);
    }
    return;
  }
  const a = Number(BigInt.asIntN(64, reg.varOff.value)) + off;
  const [spi, b] = loc(a);
  const s = slotAt(f, spi);
  ctx.scratchedSlots.add(spi);
  if (!ctx.priv && s.spilled && isPointer(s.spilled) && size !== 8) ctx.fail("EACCES", "attempt to corrupt spilled pointer on stack");
  const aligned = b === 0;
  if (val && aligned && val.type === T.Scalar && ctx.env.privileged) {
    spill(s, val, size);
  } else if (!val && aligned && ctx.env.privileged) {
    spill(s, constScalar(BigInt(imm)), size);
  } else if (val && isPointer(val)) {
    if (size !== 8) ctx.fail("EACCES", "invalid size of register spill");
    if (f !== ctx.frame() && val.type === T.Stack) ctx.fail("EINVAL", "cannot spill pointers to stack into stack frame of the caller");
    spill(s, val, 8);
  } else {
    const zero = val ? val.type === T.Scalar && val.varOff.mask === 0n && val.varOff.value === 0n : imm === 0;
    if (s.spilled) {
      s.spilled = undefined;
      for (let k = 0; k < 8; k++) if (s.kinds[k] === Slot.Spill) s.kinds[k] = Slot.Misc;
    }
    for (let k = 0; k < size; k++) s.kinds[b + k] = zero ? Slot.Zero : Slot.Misc;
  }
}

function spill(s: StackSlot, val: Reg, size: number): void {
  s.spilled = copyReg(val);
  // save_register_state: the bytes above a narrow spill become misc, except zero and
  // uninitialised ones, which keep their kind (mark_stack_slot_misc).
  for (let k = 0; k < 8; k++) {
    const o = s.kinds[k]!;
    s.kinds[k] = k < size ? Slot.Spill : o === Slot.Zero || o === Slot.Invalid ? o : Slot.Misc;
  }
}

/**
 * Load `size` bytes from fp+off into a register state (returned), or only
 * check that they are initialised (`wantValue` false).
 */
export function stackRead(ctx: Vctx, f: Frame, reg: Reg, off: number, size: number): Reg {
  if (reg.varOff.mask !== 0n) {
    const lo = Number(reg.smin) + off;
    const hi = Number(reg.smax) + off + size;
    for (let a = lo; a < hi; a++) {
      const [spi, b] = loc(a);
      const s = f.stack[spi];
      const k = s ? s.kinds[b]! : Slot.Invalid;
      if (k === Slot.Invalid && !ctx.priv) {
        ctx.fail("EACCES", `invalid variable-offset read from stack R${0} var_off=${tnumStr(reg.varOff)} off=${off} size=${size}`);
      }
      if (s?.spilled && isPointer(s.spilled) && !ctx.priv) ctx.fail("EACCES", `leaking pointer from stack off ${a}`);
    }
    return unknownScalar();
  }
  const a = Number(BigInt.asIntN(64, reg.varOff.value)) + off;
  const [spi, b] = loc(a);
  const s = f.stack[spi];
  ctx.scratchedSlots.add(spi);
  if (s?.spilled && s.kinds[0] === Slot.Spill) {
    let spillSize = 0;
    while (spillSize < 8 && s.kinds[spillSize] === Slot.Spill) spillSize++;
    if (size !== 8 || spillSize !== 8) {
      if (s.spilled.type !== T.Scalar) ctx.fail("EACCES", "invalid size of register fill");
      if (b === 0 && size <= spillSize) return copyReg(s.spilled);
      for (let i = 0; i < size; i++) {
        const k = s.kinds[b + i]!;
        if (k === Slot.Invalid && !ctx.priv) ctx.fail("EACCES", `invalid read from stack off ${a}+${i} size ${size}`);
      }
      return unknownScalar();
    }
    return copyReg(s.spilled);
  }
  let zeros = 0;
  for (let i = 0; i < size; i++) {
    const k = s ? s.kinds[b + i]! : Slot.Invalid;
    if (k === Slot.Misc || k === Slot.Spill) continue;
    if (k === Slot.Zero) {
      zeros++;
      continue;
    }
    if (ctx.priv) continue;
    ctx.fail("EACCES", `invalid read from stack off ${a}+${i} size ${size}`);
  }
  return zeros === size ? constScalar(0n) : unknownScalar();
}

/**
 * check_stack_range_initialized for helper arguments: every byte a helper
 * may read must be initialised (uninitialised bytes are fine for privileged
 * programs); bytes a helper writes (`clobber`) become STACK_MISC.
 */
export function stackRangeForHelper(ctx: Vctx, regno: number, reg: Reg, size: number, clobber: boolean, zeroOk: boolean): void {
  if (size === 0 && zeroOk) return;
  const f = ctx.cur.frames[reg.frameno]!;
  const [minOff, maxOff] = checkStackBounds(ctx, regno, reg, reg.off, size, clobber ? " write to" : " read from", clobber);
  noteDepth(ctx, f, minOff);
  const end = reg.varOff.mask === 0n ? minOff + size : maxOff;
  for (let a = minOff; a < end; a++) {
    const [spi, b] = loc(a);
    if (clobber) {
      const s = slotAt(f, spi);
      if (s.spilled) {
        if (!ctx.priv && isPointer(s.spilled)) ctx.fail("EACCES", "attempt to corrupt spilled pointer on stack");
        s.spilled = undefined;
        for (let k = 0; k < 8; k++) if (s.kinds[k] === Slot.Spill) s.kinds[k] = Slot.Misc;
      }
      s.kinds[b] = Slot.Misc;
      continue;
    }
    const s = f.stack[spi];
    const k = s ? s.kinds[b]! : Slot.Invalid;
    if (k === Slot.Misc || k === Slot.Zero) continue;
    if (k === Slot.Spill && s?.spilled && (s.spilled.type === T.Scalar || ctx.priv)) continue;
    if (k === Slot.Invalid && ctx.priv) continue;
    if (reg.varOff.mask === 0n) ctx.fail("EACCES", `invalid indirect read from stack R${regno} off ${minOff}+${a - minOff} size ${size}`);
    ctx.fail("EACCES", `invalid indirect read from stack R${regno} var_off ${tnumStr(reg.varOff)}+${a - minOff} size ${size}`);
  }
}

/** The constant bytes at fp+off..+size if they are a spilled/zero constant (for facts). */
/**
 * get_constant_map_key: the key at stack offset `off` (negative) when Linux
 * knows it. Either `size` zero bytes upward from `off`, or a constant
 * scalar spill whose spilled bytes from `off` upward are exactly `size`
 * (the whole spilled value is the key then, as Linux takes it).
 */
export function constantMapKey(f: Frame, off: number, size: number): bigint | undefined {
  const [spi, b] = loc(off);
  const s = f.stack[spi];
  if (!s || b < 0 || b > 7) return undefined;
  let zero = 0;
  for (let i = b; i < 8 && s.kinds[i] === Slot.Zero; i++) zero++;
  if (zero >= size) return 0n;
  if (s.kinds[0] !== Slot.Spill || s.spilled?.type !== T.Scalar) return undefined;
  let spill = 0;
  for (let i = b; i < 8 && s.kinds[i] === Slot.Spill; i++) spill++;
  if (spill !== size || s.spilled.varOff.mask !== 0n) return undefined;
  return BigInt.asIntN(64, s.spilled.varOff.value);
}

export function stackConst(f: Frame, off: number, size: number): bigint | undefined {
  const [spi, b] = loc(off);
  const s = f.stack[spi];
  if (!s) return undefined;
  if (b === 0 && s.spilled && s.spilled.type === T.Scalar && s.spilled.varOff.mask === 0n) {
    return BigInt.asUintN(size * 8, s.spilled.varOff.value);
  }
  for (let i = 0; i < size; i++) if (s.kinds[b + i] !== Slot.Zero) return undefined;
  return 0n;
}
