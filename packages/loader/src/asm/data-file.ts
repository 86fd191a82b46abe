/**
 * Parser for the conformance corpus' `.data` test files, following the
 * corpus README's rules:
 *
 *   - `#` starts a comment anywhere on a line; blank lines are ignored;
 *   - a line containing `--` starts a section, named by substring match:
 *     `asm`, `mem`, `result`, `error`, `raw`; `c` and `no register offset`
 *     are informational; any other name makes the whole file skipped;
 *   - `mem` is hex bytes without 0x, across lines; `result` is 0x-hex or
 *     decimal, the last non-blank line counting; `raw` is one u64 token per
 *     slot (hex or decimal, little-endian fields) and replaces the asm.
 *
 * Pure; callable from any thread. Errors are BpfError(EINVAL).
 */
import { BpfError, Errno } from "@bpfsim/core";
import { assemble } from "./assembler.js";

/** A parsed test file. `program` is the bytes to run (`raw` if present, else assembled asm). */
export interface DataFile {
  readonly asm: string;
  readonly raw?: bigint[];
  readonly mem?: Uint8Array;
  readonly result?: bigint;
  readonly error?: string;
  /** Set when the file has a section this format does not know; the runner skips it. */
  readonly skipped?: string;
}

type Section = "asm" | "mem" | "result" | "error" | "raw" | "ignored";

/** Which section a `--` line opens, by the reference parser's substring rules. */
function sectionOf(line: string): Section | undefined {
  const name = line.slice(line.indexOf("--") + 2).trim();
  if (name.includes("asm")) return "asm";
  if (name.includes("mem")) return "mem";
  if (name.includes("result")) return "result";
  if (name.includes("error")) return "error";
  if (name.includes("raw")) return "raw";
  if (name === "c" || name.includes("no register offset")) return "ignored";
  return undefined;
}

/** Parses the text of a `.data` file. */
export function parseDataFile(text: string): DataFile {
  const lines: Record<Exclude<Section, "ignored">, string[]> = { asm: [], mem: [], result: [], error: [], raw: [] };
  const seen = new Set<Section>();
  let cur: Section | undefined;
  let skipped: string | undefined;
  for (const rawLine of text.split(/\r?\n/)) {
    const line = rawLine.replace(/#.*$/, "");
    if (line.includes("--")) {
      const s = sectionOf(line);
      if (s === undefined) {
        skipped ??= `unknown section '${line.trim()}'`;
        cur = "ignored";
      } else cur = s;
      seen.add(cur);
      continue;
    }
    if (line.trim() === "" || cur === undefined || cur === "ignored") continue;
    lines[cur].push(line.trim());
  }
  const out: { -readonly [K in keyof DataFile]: DataFile[K] } = { asm: lines.asm.join("\n") };
  if (skipped) out.skipped = skipped;
  if (seen.has("mem")) {
    const toks = lines.mem.join(" ").split(/\s+/).filter((t) => t !== "");
    const mem = new Uint8Array(toks.length);
    toks.forEach((t, k) => {
      if (!/^[0-9a-f]{1,2}$/i.test(t)) throw new BpfError(Errno.EINVAL, `mem: bad byte '${t}'`);
      mem[k] = parseInt(t, 16);
    });
    out.mem = mem;
  }
  if (lines.result.length > 0) {
    const t = lines.result[lines.result.length - 1]!;
    if (!/^(0x[0-9a-f]+|\d+)$/i.test(t)) throw new BpfError(Errno.EINVAL, `result: bad value '${t}'`);
    out.result = BigInt.asUintN(64, BigInt(t));
  }
  if (lines.error.length > 0) out.error = lines.error.join("\n");
  if (seen.has("raw")) {
    out.raw = lines.raw.flatMap((l) => l.split(/\s+/)).map((t) => {
      if (!/^(0x[0-9a-f]+|\d+)$/i.test(t)) throw new BpfError(Errno.EINVAL, `raw: bad token '${t}'`);
      return BigInt.asUintN(64, BigInt(t));
    });
  }
  return out;
}

/** Instruction bytes of a parsed file: the raw slots if present, else the assembled asm. */
export function dataFileProgram(f: DataFile): Uint8Array {
  if (f.raw) {
    const out = new Uint8Array(f.raw.length * 8);
    const dv = new DataView(out.buffer);
    f.raw.forEach((v, k) => dv.setBigUint64(k * 8, v, true));
    return out;
  }
  return assemble(f.asm);
}
