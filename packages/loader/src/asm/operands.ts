/**
 * Operand parsing shared by the assembler: registers, immediates, memory
 * references and jump targets in the conformance corpus syntax.
 * Every failure is a `BpfError(EINVAL)`; the assembler adds the line number.
 */
import { BpfError, Errno } from "@bpfsim/core";

export function asmError(message: string): BpfError {
  return new BpfError(Errno.EINVAL, message);
}

/** `%r3` or `r3` -> 3. */
export function parseReg(tok: string): number {
  const m = /^%?r(\d+)$/.exec(tok.trim());
  if (!m) throw asmError(`expected a register, got '${tok}'`);
  const n = Number(m[1]);
  if (n > 10) throw asmError(`register r${n} does not exist (r0..r10)`);
  return n;
}

export function isReg(tok: string): boolean {
  return /^%?r\d+$/.test(tok.trim());
}

const INT_RE = /^([+-]?)(0x[0-9a-f]+|\d+)$/i;

/** Parses a decimal or 0x-hex integer (optionally signed) exactly, as a bigint. */
export function parseBigInt(tok: string): bigint {
  const t = tok.trim();
  const m = INT_RE.exec(t);
  if (!m) throw asmError(`expected a number, got '${tok}'`);
  const v = BigInt(m[2]!);
  return m[1] === "-" ? -v : v;
}

/**
 * A 32-bit immediate: anything in [-2^31, 2^32) is accepted, so `0xffffffff`
 * and `-1` encode the same imm (the corpus writes both).
 */
export function parseImm32(tok: string): number {
  const v = parseBigInt(tok);
  if (v < -(1n << 31n) || v >= 1n << 32n) throw asmError(`immediate ${tok} does not fit in 32 bits`);
  return Number(BigInt.asIntN(32, v));
}

/** A 64-bit immediate: anything in [-2^63, 2^64). */
export function parseImm64(tok: string): bigint {
  const v = parseBigInt(tok);
  if (v < -(1n << 63n) || v >= 1n << 64n) throw asmError(`immediate ${tok} does not fit in 64 bits`);
  return BigInt.asUintN(64, v);
}

/** A 16-bit signed offset. */
export function parseOff16(tok: string): number {
  const v = parseBigInt(tok);
  if (v < -32768n || v > 32767n) throw asmError(`offset ${tok} does not fit in 16 bits`);
  return Number(v);
}

/** `[%r1+0x2]`, `[%r10-8]`, `[%r1]` -> register and offset. */
export function parseMem(tok: string): { reg: number; off: number } {
  const m = /^\[\s*(%?r\d+)\s*(?:([+-])\s*(0x[0-9a-f]+|\d+)\s*)?\]$/i.exec(tok.trim());
  if (!m) throw asmError(`expected a memory operand like [%r1+8], got '${tok}'`);
  const reg = parseReg(m[1]!);
  const off = m[3] === undefined ? 0 : parseOff16(`${m[2]}${m[3]}`);
  return { reg, off };
}

/** Splits an operand list on commas that are not inside brackets. */
export function splitOperands(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = "";
  for (const ch of s) {
    if (ch === "[") depth++;
    if (ch === "]") depth--;
    if (ch === "," && depth === 0) {
      out.push(cur.trim());
      cur = "";
    } else cur += ch;
  }
  if (cur.trim() !== "") out.push(cur.trim());
  return out;
}

/** A jump target: a label name or a relative `+N` / `-N` / `N`. */
export type Target = { label: string } | { rel: number };

export function parseTarget(tok: string): Target {
  const t = tok.trim();
  if (INT_RE.test(t)) {
    const v = parseBigInt(t);
    if (v < -(1n << 31n) || v >= 1n << 31n) throw asmError(`jump offset ${tok} out of range`);
    return { rel: Number(v) };
  }
  if (!/^[A-Za-z_.$][\w.$]*$/.test(t)) throw asmError(`expected a label or +N/-N, got '${tok}'`);
  return { label: t };
}
