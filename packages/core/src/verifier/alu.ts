/**
 * ALU instructions (check_alu_op, adjust_reg_min_max_vals,
 * adjust_ptr_min_max_vals): scalar transfer functions live in bounds.ts;
 * this file decides what is allowed on which operand types and does the
 * pointer arithmetic.
 */
import { type Vctx, BPF_MAX_VAR_OFF } from "./context.js";
import { type Insn, C, cls, op, srcBit } from "./insn.js";
import { type Reg, T, copyReg, unknownScalar, constScalar, isPointer, mayBeNull, S64_MIN, S64_MAX } from "./reg-state.js";
import { scalarAlu, boundsSync, zext32 } from "./bounds.js";
import { tnumAdd, tnumSub, tnumConst, tnumSubreg } from "./tnum.js";
import { typeName } from "./log.js";

const OPS: Record<number, string> = {
  [C.ADD]: "+=", [C.SUB]: "-=", [C.MUL]: "*=", [C.DIV]: "/=", [C.OR]: "|=", [C.AND]: "&=", [C.LSH]: "<<=",
  [C.RSH]: ">>=", [C.NEG]: "neg", [C.MOD]: "%=", [C.XOR]: "^=", [C.MOV]: "=", [C.ARSH]: "s>>=", [C.END]: "endian",
};

export function checkAlu(ctx: Vctx, insn: Insn): void {
  const o = op(insn.code);
  const alu64 = cls(insn.code) === C.ALU64;
  const x = srcBit(insn.code) === C.X;
  const regs = ctx.regs();
  if (o > C.END) ctx.fail("EINVAL", `invalid BPF_ALU opcode ${o.toString(16)}`);
  if (o === C.END || o === C.NEG) {
    if (o === C.NEG && (x || insn.src !== 0 || insn.off !== 0 || insn.imm !== 0)) ctx.fail("EINVAL", "BPF_NEG uses reserved fields");
    if (o === C.END && (insn.src !== 0 || insn.off !== 0 || ![16, 32, 64].includes(insn.imm) || (alu64 && x))) {
      ctx.fail("EINVAL", "BPF_END uses reserved fields");
    }
    const d = ctx.readReg(insn.dst);
    if (ctx.isPtrValue(d)) ctx.fail("EACCES", `R${insn.dst} pointer arithmetic prohibited`);
    ctx.checkWritable(insn.dst);
    if (o === C.NEG && d.type === T.Scalar) {
      const r = copyReg(d);
      r.id = 0;
      scalarAlu(r, r, C.NEG, !alu64);
      ctx.setReg(insn.dst, r);
    } else ctx.setReg(insn.dst, unknownScalar());
    return;
  }
  if (o === C.MOV) {
    if (x) {
      if (insn.imm !== 0 || (insn.off !== 0 && insn.off !== 8 && insn.off !== 16 && insn.off !== 32) || (!alu64 && insn.off === 32)) {
        ctx.fail("EINVAL", "BPF_MOV uses reserved fields");
      }
      const s = ctx.readReg(insn.src);
      ctx.checkWritable(insn.dst);
      if (alu64) {
        if (insn.off === 0) {
          if (s.type === T.Scalar && s.id === 0 && s.varOff.mask !== 0n) s.id = ctx.newId();
          ctx.setReg(insn.dst, copyReg(s));
        } else {
          if (isPointer(s)) {
            if (!ctx.priv) ctx.fail("EACCES", `R${insn.src} sign-extension part of pointer`);
            ctx.setReg(insn.dst, unknownScalar());
          } else ctx.setReg(insn.dst, signExtend(s, insn.off));
        }
      } else {
        if (isPointer(s)) {
          if (!ctx.priv) ctx.fail("EACCES", `R${insn.src} partial copy of pointer`);
          const r = unknownScalar();
          zext32(r);
          ctx.setReg(insn.dst, r);
        } else {
          const r = insn.off ? signExtend(s, insn.off) : copyReg(s);
          r.id = 0;
          zext32(r);
          ctx.setReg(insn.dst, r);
        }
      }
    } else {
      if (insn.src !== 0 || insn.off !== 0) ctx.fail("EINVAL", "BPF_MOV uses reserved fields");
      ctx.checkWritable(insn.dst);
      ctx.setReg(insn.dst, constScalar(alu64 ? BigInt(insn.imm) : BigInt(insn.imm >>> 0)));
    }
    return;
  }
  // Two-operand arithmetic.
  if (x) {
    if (insn.imm !== 0 || (insn.off !== 0 && !((o === C.DIV || o === C.MOD) && insn.off === 1))) ctx.fail("EINVAL", "BPF_ALU uses reserved fields");
    ctx.readReg(insn.src);
  } else if (insn.src !== 0 || (insn.off !== 0 && !((o === C.DIV || o === C.MOD) && insn.off === 1))) {
    ctx.fail("EINVAL", "BPF_ALU uses reserved fields");
  }
  const dst = ctx.readReg(insn.dst);
  if ((o === C.MOD || o === C.DIV) && !x && insn.imm === 0) ctx.fail("EINVAL", "div by zero");
  if ((o === C.LSH || o === C.RSH || o === C.ARSH) && !x) {
    const bits = alu64 ? 64 : 32;
    if (insn.imm < 0 || insn.imm >= bits) ctx.fail("EINVAL", `invalid shift ${insn.imm}`);
  }
  ctx.checkWritable(insn.dst);
  const src = x ? regs[insn.src]! : constScalar(BigInt(insn.imm));
  const d = copyReg(dst);
  if (isPointer(d) || (x && isPointer(src))) {
    if (isPointer(d) && x && isPointer(src)) {
      if (o === C.SUB && ctx.priv) {
        ctx.setReg(insn.dst, unknownScalar());
        return;
      }
      ctx.fail("EACCES", `R${insn.dst} pointer ${OPS[o]} pointer prohibited`);
    }
    if (x) ctx.stateOnNewLine = true;
    if (isPointer(d)) ctx.setReg(insn.dst, ptrArith(ctx, insn, d, src, false, alu64));
    else ctx.setReg(insn.dst, ptrArith(ctx, insn, copyReg(src), d, true, alu64));
    return;
  }
  d.id = 0;
  const s = x ? src : constScalar(alu64 ? BigInt(insn.imm) : BigInt(insn.imm));
  scalarAlu(d, s, o, !alu64);
  ctx.setReg(insn.dst, d);
}

function signExtend(s: Reg, bits: number): Reg {
  const r = copyReg(s);
  r.id = 0;
  if (s.varOff.mask === 0n) return constScalar(BigInt.asIntN(bits, s.varOff.value));
  const lo = -(1n << BigInt(bits - 1));
  const hi = (1n << BigInt(bits - 1)) - 1n;
  if (s.smin >= lo && s.smax <= hi) return r;
  const u = unknownScalar();
  u.smin = lo;
  u.smax = hi;
  boundsSync(u);
  return u;
}

function sane(ctx: Vctx, r: Reg, t: T): void {
  const known = r.varOff.mask === 0n;
  const val = BigInt.asIntN(64, r.varOff.value);
  const M = BigInt(BPF_MAX_VAR_OFF);
  if (known && (val >= M || val <= -M)) ctx.fail("EINVAL", `math between ${typeName(t)} pointer and ${val} is not allowed`);
  if (r.off >= BPF_MAX_VAR_OFF || r.off <= -BPF_MAX_VAR_OFF) ctx.fail("EINVAL", `${typeName(t)} pointer offset ${r.off} is not allowed`);
  if (r.smin === S64_MIN) ctx.fail("EINVAL", `math between ${typeName(t)} pointer and register with unbounded min value is not allowed`);
  if (r.smin >= M || r.smin <= -M) ctx.fail("EINVAL", `value ${r.smin} makes ${typeName(t)} pointer be out of bounds`);
}

/** adjust_ptr_min_max_vals: ptr (+|-) scalar. `swapped` is `scalar += ptr`. */
function ptrArith(ctx: Vctx, insn: Insn, ptr: Reg, off: Reg, swapped: boolean, alu64: boolean): Reg {
  const o = op(insn.code);
  const dstNo = insn.dst;
  const known = off.varOff.mask === 0n;
  if (!alu64) {
    if (o === C.SUB && ctx.priv) return unknownScalar();
    ctx.fail("EACCES", `R${dstNo} 32-bit pointer arithmetic prohibited`);
  }
  if (mayBeNull(ptr)) ctx.fail("EACCES", `R${dstNo} pointer arithmetic on ${typeName(ptr.type)} prohibited, null-check it first`);
  switch (ptr.type) {
    case T.Ctx: case T.MapValue: case T.MapKey: case T.Stack: case T.PacketMeta: case T.Packet: case T.Mem:
      break;
    default:
      if (ptr.type === T.ConstMapPtr && known && off.smin === 0n && o === C.ADD) break;
      ctx.fail("EACCES", `R${dstNo} pointer arithmetic on ${typeName(ptr.type)} prohibited`);
  }
  sane(ctx, off, ptr.type);
  sane(ctx, ptr, ptr.type);
  if (o !== C.ADD && o !== C.SUB) {
    if (o === C.AND || o === C.OR || o === C.XOR) ctx.fail("EACCES", `R${dstNo} bitwise operator ${OPS[o]} on pointer prohibited`);
    ctx.fail("EACCES", `R${dstNo} pointer arithmetic with ${OPS[o]} operator prohibited`);
  }
  const r = copyReg(ptr);
  const smin = off.smin;
  if (o === C.ADD) {
    const fixed = ptr.off + Number(smin);
    if (known && fixed === (fixed | 0)) {
      r.off = fixed;
    } else {
      addBounds(r, ptr, off, 1n);
      r.varOff = tnumAdd(ptr.varOff, off.varOff);
      if (ptr.type === T.Packet || ptr.type === T.PacketMeta) {
        r.id = ctx.newId();
        r.range = 0;
      }
    }
  } else {
    if (swapped) ctx.fail("EACCES", `R${dstNo} tried to subtract pointer from scalar`);
    if (ptr.type === T.Stack) ctx.fail("EACCES", `R${dstNo} subtraction from stack pointer prohibited`);
    const fixed = ptr.off - Number(smin);
    if (known && fixed === (fixed | 0)) {
      r.off = fixed;
    } else {
      addBounds(r, ptr, off, -1n);
      r.varOff = tnumSub(ptr.varOff, off.varOff);
      if (ptr.type === T.Packet || ptr.type === T.PacketMeta) {
        r.id = ctx.newId();
        r.range = 0;
      }
    }
  }
  sane(ctx, r, ptr.type);
  boundsSync(r);
  if (!ctx.priv) sanitizeBounds(ctx, dstNo, r);
  return r;
}

function addBounds(r: Reg, p: Reg, s: Reg, sign: 1n | -1n): void {
  const lo = sign > 0n ? p.smin + s.smin : p.smin - s.smax;
  const hi = sign > 0n ? p.smax + s.smax : p.smax - s.smin;
  if (lo < S64_MIN || hi > S64_MAX) { r.smin = S64_MIN; r.smax = S64_MAX; } else { r.smin = lo; r.smax = hi; }
  const ulo = sign > 0n ? p.umin + s.umin : p.umin - s.umax;
  const uhi = sign > 0n ? p.umax + s.umax : p.umax - s.umin;
  if (ulo < 0n || uhi >= 1n << 64n) { r.umin = 0n; r.umax = (1n << 64n) - 1n; } else { r.umin = ulo; r.umax = uhi; }
  r.s32min = -(1n << 31n); r.s32max = (1n << 31n) - 1n; r.u32min = 0n; r.u32max = (1n << 32n) - 1n;
  void tnumConst; void tnumSubreg;
}

/** sanitize_check_bounds: unprivileged pointer arithmetic must stay inside the object. */
function sanitizeBounds(ctx: Vctx, regno: number, r: Reg): void {
  if (r.type === T.Stack) {
    if (r.varOff.mask !== 0n) ctx.fail("EACCES", `R${regno} variable stack access prohibited for !root, off=${r.off}`);
    const off = r.off + Number(r.varOff.value);
    if (off < -512 || off >= 0) ctx.fail("EACCES", `R${regno} stack pointer arithmetic goes out of range, prohibited for !root`);
  } else if (r.type === T.MapValue) {
    const lo = Number(r.smin) + r.off;
    const hi = Number(r.umax) + r.off;
    if (lo < 0 || hi >= r.map!.valueSize) {
      ctx.fail("EACCES", `R${regno} pointer arithmetic of map value goes out of range, prohibited for !root`);
    }
  }
}
