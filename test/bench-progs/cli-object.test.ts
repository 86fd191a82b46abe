/** `bpfsim test-run` on ELF objects: the bench objects through the CLI. */
import { describe, expect, it } from "vitest";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { main } from "../../packages/harness/src/cli.js";
import { benchPacket } from "@bpfsim/harness";

const progsDir = fileURLToPath(new URL("../../../shared/bench/progs/", import.meta.url));
const have = existsSync(`${progsDir}ringbuf_output.bpf.o`);
if (!have) console.log("bpfsim test-run on objects: skipped, the shared bench objects are not there");

async function cli(...argv: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out, err };
}
const pkt = Array.from(benchPacket(), (b) => b.toString(16).padStart(2, "0")).join("");

describe.skipIf(!have)("bpfsim test-run <object.o>", () => {
  it("runs the chosen program with its maps and lists the ring buffer records", async () => {
    const r = await cli("test-run", `${progsDir}ringbuf_output.bpf.o`, "--prog", "ringbuf_reserve", "--data", pkt, "--repeat", "3", "--engine", "interpreter");
    expect(r.err.join("\n")).toBe("");
    expect(r.code).toBe(0);
    expect(r.out[0]).toMatch(/^Return value: 2, duration \(average\): \d+ns$/);
    expect(r.out[1]).toBe("Data out (64 bytes):");
    expect(r.out).toContain("Ring buffer rb: 3 records");
    // Third record: seq 2, len 64.
    expect(r.out.filter((l) => l.startsWith("  02 00 00 00 00 00 00 00 40 00"))).toHaveLength(1);
  });

  it("an empty routing table drops the packet (lpm_route on the JIT)", async () => {
    const r = await cli("test-run", `${progsDir}lpm_route.bpf.o`, "--data", pkt, "--engine", "jit");
    expect(r.code).toBe(0);
    expect(r.out[0]).toMatch(/^Return value: 1, duration: \d+ns$/);
  });

  it("asks which program when the object has several, and names an unknown one", async () => {
    const r = await cli("test-run", `${progsDir}ringbuf_output.bpf.o`, "--data", pkt);
    expect(r.code).toBe(2);
    expect(r.err.join("\n")).toMatch(/2 programs; choose one with --prog \(ringbuf_output, ringbuf_reserve\)/);
    const u = await cli("test-run", `${progsDir}ringbuf_output.bpf.o`, "--prog", "nope");
    expect(u.err.join("\n")).toMatch(/no program 'nope'/);
  });
});
