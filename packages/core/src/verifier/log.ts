/**
 * The verifier log: Linux's wording, levels 1 and 2, and the way register
 * state is printed (`R1=ctx() R2=scalar(smin=0,umax=255,var_off=(0x0; 0xff)) R10=fp0`).
 */
import { type Reg, type Frame, T, Slot, S64_MIN, S64_MAX, S32_MIN, S32_MAX } from "./reg-state.js";
import { tnumIsUnknown, tnumStr, U64, U32 } from "./tnum.js";

/**
 * The log as a list of lines, so that the kernel's rewinds (a finished
 * branch's lines are dropped at level 1) and the per-instruction state
 * comment (appended to the line just printed) cost O(1).
 */
export class VerifierLog {
  private lines: string[] = [];
  /** Bytes of the log through each line (with its newline). */
  private ends: number[] = [];
  /**
   * The longest the log ever was. Linux reports this as log_true_size and
   * returns ENOSPC when it exceeded the buffer, even if rewinds made the
   * final log shorter.
   */
  maxSize = 0;
  constructor(readonly level: number) {}
  line(s: string): void {
    if (this.level === 0) return;
    this.lines.push(s);
    this.ends.push((this.ends[this.ends.length - 1] ?? 0) + s.length + 1);
    this.grew();
  }
  /** Appends to the last line printed. */
  appendToLast(s: string): void {
    if (this.level === 0 || !this.lines.length) return;
    this.lines[this.lines.length - 1] += s;
    this.ends[this.ends.length - 1]! += s.length;
    this.grew();
  }
  private grew(): void {
    const n = this.ends[this.ends.length - 1] ?? 0;
    if (n > this.maxSize) this.maxSize = n;
  }
  get last(): string {
    return this.lines[this.lines.length - 1] ?? "";
  }
  get pos(): number {
    return this.lines.length;
  }
  reset(pos: number): void {
    if (this.lines.length > pos) {
      this.lines.length = pos;
      this.ends.length = pos;
    }
  }
  get text(): string {
    return this.lines.length ? this.lines.join("\n") + "\n" : "";
  }
}

/** Small numbers in decimal, others in hex of the field's width (as the kernel's verbose_snum). */
const snum = (v: bigint, bits = 64): string =>
  v >= -1024n * 1024n && v <= 1024n * 1024n ? v.toString() : "0x" + BigInt.asUintN(bits, v).toString(16);
const unum = (v: bigint): string => (v <= 1024n * 1024n ? v.toString() : "0x" + v.toString(16));

function scalarRanges(r: Reg): string[] {
  const m = [
    { n: "smin", v: r.smin, o: r.smin === S64_MIN },
    { n: "smax", v: r.smax, o: r.smax === S64_MAX },
    { n: "umin", v: r.umin, o: r.umin === 0n },
    { n: "umax", v: r.umax, o: r.umax === U64 },
    { n: "smin32", v: r.s32min, o: r.s32min === S32_MIN },
    { n: "smax32", v: r.s32max, o: r.s32max === S32_MAX },
    { n: "umin32", v: r.u32min, o: r.u32min === 0n },
    { n: "umax32", v: r.u32max, o: r.u32max === U32 },
  ];
  const out: string[] = [];
  for (let i = 0; i < m.length; i++) {
    const a = m[i]!;
    if (a.o) continue;
    const neg1 = a.n[0] === "s" && a.v < 0n;
    let s = a.n + "=";
    for (let j = i + 2; j < m.length; j += 2) {
      const b = m[j]!;
      if (b.o || BigInt.asUintN(64, b.v) !== BigInt.asUintN(64, a.v)) continue;
      const neg2 = b.n[0] === "s" && b.v < 0n;
      if (neg1 !== neg2) continue;
      b.o = true;
      s += b.n + "=";
    }
    out.push(s + (a.n[0] === "s" ? snum(a.v, a.n.endsWith("32") ? 32 : 64) : unum(a.v)));
  }
  return out;
}

const TYPE_NAMES: Record<number, string> = {
  [T.Ctx]: "ctx", [T.ConstMapPtr]: "map_ptr", [T.MapValue]: "map_value", [T.MapValueOrNull]: "map_value_or_null",
  [T.MapKey]: "map_key", [T.Stack]: "fp", [T.Packet]: "pkt", [T.PacketMeta]: "pkt_meta", [T.PacketEnd]: "pkt_end",
  [T.Mem]: "ringbuf_mem", [T.MemOrNull]: "ringbuf_mem_or_null", [T.Func]: "func", [T.ConstMapPtrOrNull]: "map_ptr_or_null",
};

export function typeName(t: T): string {
  return t === T.Scalar ? "scalar" : t === T.NotInit ? "?" : TYPE_NAMES[t] ?? "?";
}

/**
 * One register's state as the kernel prints it. `frameno`: the frame being
 * printed; a stack pointer into another frame shows that frame's number.
 */
export function regStr(r: Reg, frameno?: number): string {
  if (r.type === T.Scalar) {
    if (r.varOff.mask === 0n && r.id === 0) return snum(BigInt.asIntN(64, r.varOff.value));
    const parts: string[] = [];
    if (r.id) parts.push(`id=${r.id}`);
    parts.push(...scalarRanges(r));
    if (!tnumIsUnknown(r.varOff)) parts.push(`var_off=${tnumStr(r.varOff)}`);
    return `scalar(${parts.join(",")})`;
  }
  const other = r.type === T.Stack && frameno !== undefined && r.frameno !== frameno ? `[${r.frameno}]` : "";
  if (r.type === T.Stack && r.varOff.mask === 0n) return `fp${other}${r.off}`;
  const parts: string[] = [];
  if (r.id) parts.push(`id=${r.id}`);
  if (r.refObjId) parts.push(`ref_obj_id=${r.refObjId}`);
  if (r.map && (r.type === T.ConstMapPtr || r.type === T.MapValue || r.type === T.MapValueOrNull || r.type === T.MapKey || r.type === T.ConstMapPtrOrNull)) {
    parts.push(`ks=${r.map.keySize}`, `vs=${r.map.valueSize}`);
  }
  if (r.off) parts.push(`off=${r.off}`);
  if (r.type === T.Packet || r.type === T.PacketMeta) parts.push(`r=${r.range}`);
  if (r.type === T.Mem || r.type === T.MemOrNull) parts.push(`sz=${r.memSize}`);
  if (r.varOff.mask !== 0n) {
    parts.push(...scalarRanges(r));
    if (!tnumIsUnknown(r.varOff)) parts.push(`var_off=${tnumStr(r.varOff)}`);
  } else if (r.varOff.value !== 0n) parts.push(`imm=${r.varOff.value.toString(16)}`);
  return `${typeName(r.type)}${other}(${parts.join(",")})`;
}

const SLOT_CH: Record<number, string> = { [Slot.Invalid]: "?", [Slot.Spill]: "r", [Slot.Misc]: "m", [Slot.Zero]: "0" };

/**
 * Registers `which` (or all initialised ones) and the stack of a frame.
 * Scalars in `precise` (bit i = Ri) carry Linux's `P` mark.
 */
export function frameStr(f: Frame, which?: number[], withStack = true, precise = 0): string {
  const out: string[] = [];
  const regs = which ?? f.regs.map((_, i) => i);
  for (const i of regs) {
    const r = f.regs[i]!;
    if (r.type === T.NotInit) continue;
    out.push(`R${i}=${r.type === T.Scalar && precise & (1 << i) ? "P" : ""}${regStr(r, f.frameno)}`);
  }
  if (withStack) {
    f.stack.forEach((s, i) => {
      if (!s || s.kinds.every((k) => k === Slot.Invalid)) return;
      const name = `fp-${(i + 1) * 8}`;
      if (s.spilled && s.kinds.every((k) => k === Slot.Spill)) out.push(`${name}=${regStr(s.spilled, f.frameno)}`);
      else if (s.spilled && s.kinds[0] === Slot.Spill) {
        // A narrow spill: the other bytes' kinds, then the spilled value.
        const rest = s.kinds.filter((k) => k !== Slot.Spill).reverse().map((k) => SLOT_CH[k]).join("");
        out.push(`${name}=${rest}${regStr(s.spilled)}`);
      }
      else out.push(`${name}=${s.kinds.slice().reverse().map((k) => SLOT_CH[k]).join("")}`);
    });
  }
  return out.join(" ");
}

/** Column the per-instruction state comment starts at (BPF_LOG_ALIGNMENT 40). */
export function alignComment(line: string): string {
  const n = line.length;
  const pad = Math.ceil(Math.max(n + 2, 8) / 40) * 40 - 2 - n;
  return line + " ".repeat(Math.max(pad, 1)) + ";";
}
