/**
 * The bpf_conformance corpus on the JIT. Each `.data` file's program runs
 * with r1 = its memory (copied into the arena) and r2 = the memory length,
 * as the corpus' reference runner does; helper 5 is the corpus' "unwind"
 * helper, which returns its argument.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { JitProgram, jitEngine } from "@bpfsim/core";
import { dataFileProgram, parseDataFile } from "@bpfsim/loader";
import { makeMachine } from "./fixture.js";

const dir = fileURLToPath(new URL("../../../shared/conformance/bpf_conformance/", import.meta.url));
const present = existsSync(dir);
if (!present) console.log(`conformance corpus not found at ../shared/conformance/bpf_conformance: skipping`);
const files = present ? readdirSync(dir).filter((f) => f.endsWith(".data")).sort() : [];

describe.skipIf(!present)("conformance corpus on the JIT", () => {
  const m = makeMachine();
  m.cpu.helpers.length = 0;
  (m.cpu.helpers as unknown[])[5] = (_cpu: unknown, r1: bigint) => r1;
  it.each(files)("%s", (file) => {
    const f = parseDataFile(readFileSync(dir + file, "utf8"));
    if (f.skipped) {
      console.log(`${file}: skipped (${f.skipped})`);
      return;
    }
    const insns = dataFileProgram(f);
    const prog = jitEngine.compile({ insns, progType: 0, name: file }, m.arena) as JitProgram;
    const mem = f.mem ?? new Uint8Array(0);
    const memOff = mem.length > 0 ? m.place(mem) : 0;
    if (f.error !== undefined) {
      expect(() => prog.runWithArgs([BigInt(memOff), BigInt(mem.length)], m.cpu)).toThrow();
      return;
    }
    const r = prog.runWithArgs([BigInt(memOff), BigInt(mem.length)], m.cpu);
    expect(r).toBe(BigInt.asUintN(64, f.result!));
    if (memOff) m.arena.free(memOff);
  });
});
