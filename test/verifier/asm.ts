/**
 * A tiny instruction builder for the verifier corpus: one function per
 * instruction form, names after the kernel's BPF_* macros, producing
 * 8-byte slots. Map references are `ldMap(reg, i)`: a `lddw` with src_reg
 * BPF_PSEUDO_MAP_FD whose imm is the index of the case's map (the kernel
 * harness patches it into a real fd).
 */
export type Slot = [code: number, dst: number, src: number, off: number, imm: number];

const s = (code: number, dst = 0, src = 0, off = 0, imm = 0): Slot => [code, dst, src, off, imm];

// ALU64 / ALU with immediate or register operand.
const ALU: Record<string, number> = { add: 0x00, sub: 0x10, mul: 0x20, div: 0x30, or: 0x40, and: 0x50, lsh: 0x60, rsh: 0x70, neg: 0x80, mod: 0x90, xor: 0xa0, mov: 0xb0, arsh: 0xc0 };
export const alu64i = (o: string, d: number, imm: number): Slot => s(0x07 | ALU[o]!, d, 0, 0, imm);
export const alu64r = (o: string, d: number, r: number): Slot => s(0x0f | ALU[o]!, d, r);
export const alu32i = (o: string, d: number, imm: number): Slot => s(0x04 | ALU[o]!, d, 0, 0, imm);
export const alu32r = (o: string, d: number, r: number): Slot => s(0x0c | ALU[o]!, d, r);
export const mov = (d: number, imm: number): Slot => alu64i("mov", d, imm);
export const movr = (d: number, r: number): Slot => alu64r("mov", d, r);
export const mov32 = (d: number, imm: number): Slot => alu32i("mov", d, imm);
export const mov32r = (d: number, r: number): Slot => alu32r("mov", d, r);
export const add = (d: number, imm: number): Slot => alu64i("add", d, imm);
export const addr = (d: number, r: number): Slot => alu64r("add", d, r);
export const and = (d: number, imm: number): Slot => alu64i("and", d, imm);
export const neg = (d: number): Slot => s(0x87, d);
export const movsx = (d: number, r: number, bits: number): Slot => s(0xbf, d, r, bits);
export const bswap = (d: number, bits: number): Slot => s(0xd7, d, 0, 0, bits);
export const be = (d: number, bits: number): Slot => s(0xdc, d, 0, 0, bits);

const SZ: Record<string, number> = { w: 0x00, h: 0x08, b: 0x10, dw: 0x18 };
export const ldx = (sz: string, d: number, r: number, off: number): Slot => s(0x61 | SZ[sz]!, d, r, off);
export const ldxsx = (sz: string, d: number, r: number, off: number): Slot => s(0x81 | SZ[sz]!, d, r, off);
export const stx = (sz: string, r: number, off: number, src: number): Slot => s(0x63 | SZ[sz]!, r, src, off);
export const st = (sz: string, r: number, off: number, imm: number): Slot => s(0x62 | SZ[sz]!, r, 0, off, imm);
export const atomic = (sz: string, r: number, off: number, src: number, op: number): Slot => s(0xc3 | SZ[sz]!, r, src, off, op);
export const ldabs = (sz: string, imm: number): Slot => s(0x20 | SZ[sz]!, 0, 0, 0, imm);
export const ldind = (sz: string, src: number, imm: number): Slot => s(0x40 | SZ[sz]!, 0, src, 0, imm);

/** lddw: two slots. */
export function lddw(d: number, v: bigint | number, src = 0): Slot[] {
  const x = BigInt.asUintN(64, BigInt(v));
  return [s(0x18, d, src, 0, Number(BigInt.asIntN(32, x & 0xffffffffn))), s(0, 0, 0, 0, Number(BigInt.asIntN(32, x >> 32n)))];
}
export const ldMap = (d: number, i: number): Slot[] => lddw(d, i, 1);
export const ldMapValue = (d: number, i: number, off: number): Slot[] => lddw(d, BigInt(i) | (BigInt(off) << 32n), 2);
export const ldFunc = (d: number, rel: number): Slot[] => [s(0x18, d, 4, 0, rel), s(0)];

const J: Record<string, number> = { ja: 0x00, jeq: 0x10, jgt: 0x20, jge: 0x30, jset: 0x40, jne: 0x50, jsgt: 0x60, jsge: 0x70, jlt: 0xa0, jle: 0xb0, jslt: 0xc0, jsle: 0xd0 };
export const ja = (off: number): Slot => s(0x05, 0, 0, off);
export const jmpi = (o: string, d: number, imm: number, off: number): Slot => s(0x05 | J[o]!, d, 0, off, imm);
export const jmpr = (o: string, d: number, r: number, off: number): Slot => s(0x0d | J[o]!, d, r, off);
export const jmp32i = (o: string, d: number, imm: number, off: number): Slot => s(0x06 | J[o]!, d, 0, off, imm);
export const jmp32r = (o: string, d: number, r: number, off: number): Slot => s(0x0e | J[o]!, d, r, off);
export const call = (id: number): Slot => s(0x85, 0, 0, 0, id);
export const callLocal = (rel: number): Slot => s(0x85, 0, 1, 0, rel);
export const exit = (): Slot => s(0x95);
export const raw = (code: number, dst = 0, src = 0, off = 0, imm = 0): Slot => s(code, dst, src, off, imm);

/** Flattens and encodes a program. */
export function prog(...parts: (Slot | Slot[])[]): Uint8Array {
  const slots: Slot[] = [];
  for (const p of parts) {
    if (typeof p[0] === "number") slots.push(p as Slot);
    else slots.push(...(p as Slot[]));
  }
  const out = new Uint8Array(slots.length * 8);
  const dv = new DataView(out.buffer);
  slots.forEach(([code, dst, src, off, imm], i) => {
    dv.setUint8(i * 8, code);
    dv.setUint8(i * 8 + 1, ((src & 0xf) << 4) | (dst & 0xf));
    dv.setInt16(i * 8 + 2, off, true);
    dv.setInt32(i * 8 + 4, imm, true);
  });
  return out;
}

export const hex = (b: Uint8Array): string => Buffer.from(b).toString("hex");
