/** Tiny instruction builders for the program tests (hex for the probe protocol). */
import { encodeProgram, insn, type Insn } from "@bpfsim/core";

export const mov = (dst: number, imm: number): Insn => insn(0xb7, dst, 0, 0, imm);
export const movr = (dst: number, src: number): Insn => insn(0xbf, dst, src, 0, 0);
export const addi = (dst: number, imm: number): Insn => insn(0x07, dst, 0, 0, imm);
export const exit = (): Insn => insn(0x95, 0, 0, 0, 0);
export const call = (id: number): Insn => insn(0x85, 0, 0, 0, id);
export const ja = (off: number): Insn => insn(0x05, 0, 0, off, 0);
export const jeqi = (dst: number, imm: number, off: number): Insn => insn(0x15, dst, 0, off, imm);
export const jgtr = (dst: number, src: number, off: number): Insn => insn(0x2d, dst, src, off, 0);
/** lddw dst, map #idx (src 1) or map value #idx + off (src 2). */
export const ldMap = (dst: number, idx: number, src = 1, off = 0): Insn => insn(0x18, dst, src, 0, idx, off);
export const ldFunc = (dst: number, rel: number): Insn => insn(0x18, dst, 4, 0, rel, 0);
export const ldImm64 = (dst: number, lo: number, hi: number): Insn => insn(0x18, dst, 0, 0, lo, hi);
const SZ = { 1: 0x10, 2: 0x08, 4: 0x00, 8: 0x18 } as const;
export const ldx = (size: 1 | 2 | 4 | 8, dst: number, src: number, off: number): Insn => insn(0x61 | SZ[size], dst, src, off, 0);
export const stx = (size: 1 | 2 | 4 | 8, dst: number, src: number, off: number): Insn => insn(0x63 | SZ[size], dst, src, off, 0);
export const st = (size: 1 | 2 | 4 | 8, dst: number, off: number, imm: number): Insn => insn(0x62 | SZ[size], dst, 0, off, imm);

export const prog = (...insns: Insn[]): Uint8Array => encodeProgram(insns);
export const hexOf = (b: Uint8Array): string => (b.length ? Buffer.from(b).toString("hex") : "-");
export const progHex = (...insns: Insn[]): string => hexOf(prog(...insns));
