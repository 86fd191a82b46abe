/**
 * Loads of 64-bit immediates and map references (check_ld_imm,
 * resolve_pseudo_ldimm64), legacy packet loads (check_ld_abs) and atomic
 * read-modify-write instructions (check_atomic).
 */
import type { VerifierEnv, MapInfo } from "./env.js";
import { type Insn, C, mode, sizeBytes, LDDW } from "./insn.js";
import type { Vctx } from "./context.js";
import { VerifierError } from "./errors.js";
import { T, ptrReg, unknownScalar, constScalar, notInit } from "./reg-state.js";
import { checkMemAccess } from "./mem.js";

/** bpf_opcode_in_insntable(): the opcodes of the instruction set. */
function validOpcode(code: number): boolean {
  const cls = code & 7;
  const o = code & 0xf0;
  const x = code & 0x08;
  switch (cls) {
    case C.ALU:
    case C.ALU64:
      if (o === C.END) return cls === C.ALU || !x;
      if (o === C.NEG) return !x;
      return o <= C.END;
    case C.JMP:
      if (o === C.JA || o === C.CALL || o === C.EXIT || o === 0xe0) return !x;
      return o <= C.JSLE;
    case C.JMP32:
      if (o === C.JA) return !x;
      return o !== C.CALL && o !== C.EXIT && o <= C.JSLE;
    case C.LD:
      return [0x18, 0x20, 0x28, 0x30, 0x40, 0x48, 0x50].includes(code);
    case C.LDX:
      return [0x61, 0x69, 0x71, 0x79, 0x81, 0x89, 0x91].includes(code);
    case C.ST:
      return [0x62, 0x6a, 0x72, 0x7a].includes(code);
    default:
      return [0x63, 0x6b, 0x73, 0x7b, 0xc3, 0xdb].includes(code);
  }
}

/** check_map_prog_compatibility: spin locks are for networking programs only. */
function checkMapProgCompat(m: MapInfo, progType: number, i: number): void {
  if (m.spinLockOff < 0) return;
  if (progType === 1) throw new VerifierError("EINVAL", "socket filter progs cannot use bpf_spin_lock yet", i);
  if ([2, 5, 7, 17, 24].includes(progType)) throw new VerifierError("EINVAL", "tracing progs cannot use bpf_spin_lock yet", i);
}

const MAY_ACCESS_SKB = new Set([1, 3, 4]); // socket_filter, sched_cls, sched_act

/**
 * resolve_pseudo_ldimm64: every map reference must name a map (and a
 * direct value reference a single-element array) before exploration starts.
 */
export function resolveLdImm64(insns: Insn[], env: VerifierEnv): void {
  for (let i = 0; i < insns.length; i++) {
    const insn = insns[i]!;
    if ((insn.code & 7) === C.LDX && ((mode(insn.code) !== C.MEM && mode(insn.code) !== C.MEMSX) || insn.imm !== 0)) {
      throw new VerifierError("EINVAL", "BPF_LDX uses reserved fields", i);
    }
    if (insn.code !== LDDW) {
      if (!validOpcode(insn.code)) throw new VerifierError("EINVAL", `unknown opcode ${insn.code.toString(16).padStart(2, "0")}`, i);
      continue;
    }
    const imm64 = insn.imm64 ?? 0n;
    if (insn.src === C.PSEUDO_MAP_FD) {
      const m = env.maps(imm64, i);
      if (!m) throw new VerifierError("EBADF", `fd ${insn.imm} is not pointing to valid bpf_map`, i);
      checkMapProgCompat(m, env.progType, i);
    } else if (insn.src === C.PSEUDO_MAP_VALUE) {
      const mv = env.mapValue?.(imm64, i);
      if (!mv) throw new VerifierError("EBADF", `fd ${insn.imm} is not pointing to valid bpf_map`, i);
      const m = mv.map;
      checkMapProgCompat(m, env.progType, i);
      if (m.mapType !== 2) throw new VerifierError("EINVAL", "no direct value access support for this map type", i);
      if (m.maxEntries !== 1) throw new VerifierError("ENOTSUPP", `invalid access to map value pointer, value_size=${m.valueSize} off=${mv.off}`, i);
      if (mv.off < 0 || mv.off >= m.valueSize) throw new VerifierError("EINVAL", `invalid access to map value pointer, value_size=${m.valueSize} off=${mv.off}`, i);
    } else if (insn.src !== 0 && insn.src !== C.PSEUDO_FUNC) {
      throw new VerifierError("EINVAL", "unrecognized bpf_ld_imm64 insn", i);
    }
    i++;
  }
}

export function checkAtomic(ctx: Vctx, insn: Insn): void {
  const ok = [C.ADD, C.AND, C.OR, C.XOR, C.ADD | C.FETCH, C.AND | C.FETCH, C.OR | C.FETCH, C.XOR | C.FETCH, C.XCHG, C.CMPXCHG];
  if (!ok.includes(insn.imm)) ctx.fail("EINVAL", `BPF_ATOMIC uses invalid atomic opcode ${(insn.imm >>> 0).toString(16).padStart(2, "0")}`);
  const size = sizeBytes(insn.code);
  if (size !== 4 && size !== 8) ctx.fail("EINVAL", "invalid atomic operand size");
  const s = ctx.readReg(insn.src);
  const d = ctx.readReg(insn.dst);
  if (insn.imm === C.CMPXCHG) {
    const r0 = ctx.readReg(0);
    if (ctx.isPtrValue(r0)) ctx.fail("EACCES", "R0 leaks addr into mem");
  }
  if (ctx.isPtrValue(s)) ctx.fail("EACCES", `R${insn.src} leaks addr into mem`);
  if (d.type === T.Ctx || d.type === T.Packet || d.type === T.PacketMeta) {
    ctx.fail("EACCES", `BPF_ATOMIC stores into R${insn.dst} ${d.type === T.Ctx ? "ctx" : "pkt"} is not allowed`);
  }
  const fetch = insn.imm & C.FETCH;
  const loadReg = insn.imm === C.CMPXCHG ? 0 : fetch ? insn.src : -1;
  const v = checkMemAccess(ctx, insn.dst, insn.off, size, false, loadReg, undefined, 0, false, true);
  if (v && v.type !== T.Scalar && loadReg >= 0 && !ctx.priv) ctx.fail("EACCES", `R${insn.dst} leaks addr into mem`);
  checkMemAccess(ctx, insn.dst, insn.off, size, true, -1, unknownScalar(), 0, false, true);
  if (loadReg >= 0) ctx.setReg(loadReg, v && v.type === T.Scalar ? unknownScalarSized(size) : unknownScalar());
}

function unknownScalarSized(size: number): ReturnType<typeof unknownScalar> {
  const r = unknownScalar();
  if (size === 4) {
    r.umax = 0xffffffffn;
    r.smin = 0n;
    r.smax = 0xffffffffn;
    r.varOff = { value: 0n, mask: 0xffffffffn };
  }
  return r;
}

export function checkLd(ctx: Vctx, insn: Insn, idx: number): number {
  const m = mode(insn.code);
  if (m === C.ABS || m === C.IND) {
    if (!MAY_ACCESS_SKB.has(ctx.env.progType)) ctx.fail("EINVAL", "BPF_LD_[ABS|IND] instructions not allowed for this program type");
    if (insn.dst !== 0 || insn.off !== 0 || sizeBytes(insn.code) === 8 || (m === C.ABS && insn.src !== 0)) {
      ctx.fail("EINVAL", "BPF_LD_[ABS|IND] uses reserved fields");
    }
    const r6 = ctx.readReg(6);
    if (ctx.cur.refs.length) ctx.fail("EINVAL", "BPF_LD_[ABS|IND] would lead to reference leak");
    if (r6.type !== T.Ctx) ctx.fail("EINVAL", "at the time of BPF_LD_ABS|IND R6 != pointer to skb");
    if (m === C.IND) ctx.readReg(insn.src);
    const regs = ctx.regs();
    for (let r = 1; r <= 5; r++) regs[r] = notInit();
    ctx.setReg(0, unknownScalar());
    return idx + 1;
  }
  if (insn.code !== LDDW) ctx.fail("EINVAL", "invalid BPF_LD_IMM insn");
  if (insn.off !== 0) ctx.fail("EINVAL", "BPF_LD_IMM64 uses reserved fields");
  ctx.checkWritable(insn.dst);
  const imm64 = insn.imm64 ?? 0n;
  switch (insn.src) {
    case 0:
      ctx.setReg(insn.dst, constScalar(imm64));
      break;
    case C.PSEUDO_MAP_FD: {
      const map = ctx.env.maps(imm64, idx);
      if (!map) ctx.fail("EBADF", `fd ${insn.imm} is not pointing to valid bpf_map`);
      const r = ptrReg(T.ConstMapPtr);
      r.map = map;
      ctx.setReg(insn.dst, r);
      break;
    }
    case C.PSEUDO_MAP_VALUE: {
      const mv = ctx.env.mapValue?.(imm64, idx);
      if (!mv) ctx.fail("EBADF", `fd ${insn.imm} is not pointing to valid bpf_map`);
      // map_direct_value_addr: only single-element arrays expose their value's address.
      if (mv.map.mapType !== 2) ctx.fail("EINVAL", "no direct value access support for this map type");
      if (mv.map.maxEntries !== 1) ctx.fail("ENOTSUPP", `invalid access to map value pointer, value_size=${mv.map.valueSize} off=${mv.off}`);
      if (mv.off < 0 || mv.off >= mv.map.valueSize) ctx.fail("EINVAL", `invalid access to map value pointer, value_size=${mv.map.valueSize} off=${mv.off}`);
      const r = ptrReg(T.MapValue, mv.off);
      r.map = mv.map;
      ctx.setReg(insn.dst, r);
      break;
    }
    case C.PSEUDO_FUNC: {
      if (ctx.env.hasFuncInfo === false) ctx.fail("EINVAL", "missing btf func_info");
      const r = ptrReg(T.Func);
      r.subprog = idx + insn.imm + 1;
      ctx.setReg(insn.dst, r);
      break;
    }
    default:
      ctx.fail("EINVAL", "unrecognized bpf_ld_imm64 insn");
  }
  return idx + 2;
}

