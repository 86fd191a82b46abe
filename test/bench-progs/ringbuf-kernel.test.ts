/**
 * The ring buffer helpers against the kernel: the same raw programs on a
 * 4 KiB ring, run in the same order on Linux (the probe of test/prog) and on
 * bpfsim (both engines); every run's return value must match. Covers bad
 * flags (output -EINVAL, reserve NULL), a reservation larger than the ring,
 * filling the ring (reserve NULL, output -EAGAIN), discard, and the four
 * ringbuf_query values as positions move.
 */
import { describe, expect, it } from "vitest";
import { MapType, ProgType } from "@bpfsim/core";
import { kernelSession, kernelUnavailable, simSession } from "../prog/oracle.js";
import { addi, call, exit, hexOf, jeqi, ldMap, mov, movr, prog, st } from "../prog/insns.js";

if (kernelUnavailable) console.log(`ring buffer helpers against the kernel skipped: ${kernelUnavailable}`);

const OUTPUT = 130;
const RESERVE = 131;
const SUBMIT = 132;
const DISCARD = 133;
const QUERY = 134;

/** bpf_ringbuf_output(rb, fp-8, 8, flags): its return value. */
const output = (flags: number) => prog(st(8, 10, -8, 0), ldMap(1, 0), movr(2, 10), addi(2, -8), mov(3, 8), mov(4, flags), call(OUTPUT), exit());
/** bpf_ringbuf_reserve(rb, size, flags), then submit (or discard); 1 if the reservation failed. */
const reserve = (size: number, flags: number, release = SUBMIT) =>
  prog(ldMap(1, 0), mov(2, size), mov(3, flags), call(RESERVE), jeqi(0, 0, 5), movr(1, 0), mov(2, 0), call(release), mov(0, 0), exit(), mov(0, 1), exit());
/** bpf_ringbuf_query(rb, flags). */
const query = (flags: number) => prog(ldMap(1, 0), mov(2, flags), call(QUERY), exit());

const steps: [string, Uint8Array][] = [
  ["output, flags 4: -EINVAL", output(4)],
  ["reserve, flags 1: NULL", reserve(8, 1)],
  ["reserve 5000 of a 4096 ring: NULL", reserve(5000, 0)],
  ["query avail", query(0)],
  ["query ring size", query(1)],
  ["output 8, no wakeup", output(1)],
  ["output 8, forced wakeup", output(2)],
  ["reserve+discard 8", reserve(8, 0, DISCARD)],
  ["query avail", query(0)],
  ["query prod pos", query(3)],
  ["query cons pos", query(2)],
  ["query flag 9", query(9)],
  ...Array.from({ length: 5 }, (_, i): [string, Uint8Array] => [`reserve+submit 1000 #${i + 1}`, reserve(1000, 0)]),
  ["output 8 into a full ring: -EAGAIN", output(0)],
  ["reserve 8 in a full ring: NULL", reserve(8, 0)],
  ["query avail", query(0)],
  ["query prod pos", query(3)],
];

const lines = [`map ${MapType.Ringbuf} 0 0 4096`];
steps.forEach(([, insns], i) => lines.push(`load ${ProgType.RawTracepoint} 0 GPL 0 0 ${hexOf(insns)}`, `run ${i} - 0 0 ${"00".repeat(16)} 0 0 0`));
const retvals = (out: string[]) => steps.map((_, i) => out[2 + 2 * i]!.split(" ").slice(0, 2).join(" "));

describe.skipIf(!!kernelUnavailable)("ring buffer helpers against the kernel", () => {
  const kern = kernelUnavailable ? [] : kernelSession(lines);
  it("the kernel loaded every program", () => {
    steps.forEach(([name], i) => expect(Number(kern[1 + 2 * i]!.split(" ")[0]), name).toBeGreaterThanOrEqual(0));
  });
  for (const engine of ["interpreter", "jit"] as const) {
    it(`every run returns what Linux returns (${engine})`, () => {
      const sim = simSession(lines, engine);
      const want = retvals(kern).map((r, i) => `${steps[i]![0]}: ${r}`);
      expect(retvals(sim).map((r, i) => `${steps[i]![0]}: ${r}`)).toEqual(want);
    });
  }
});
