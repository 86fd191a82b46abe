/** `bpfsim test-run`: assembly and raw inputs, output like bpftool prog run, errors. */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { main } from "../../packages/harness/src/cli.js";
import { exit, ldx, mov, prog } from "./insns.js";

async function cli(...argv: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out, err };
}

const dir = mkdtempSync(join(tmpdir(), "bpfsim-cli-"));
const asm = join(dir, "xdp.s");
writeFileSync(asm, "mov r0, 2\nexit\n");
const raw = join(dir, "len.bin");
writeFileSync(raw, prog(ldx(4, 0, 1, 0), exit()));

describe("bpfsim test-run", () => {
  it("runs assembly on XDP and prints retval, duration and data out", async () => {
    const r = await cli("test-run", asm, "--prog-type", "xdp", "--data", "00112233445566778899aabbccddeeff", "--repeat", "3", "--engine", "interpreter");
    expect(r.code).toBe(0);
    expect(r.out[0]).toMatch(/^Return value: 2, duration \(average\): \d+ns$/);
    expect(r.out.slice(1)).toEqual(["Data out (16 bytes):", "00 11 22 33 44 55 66 77 88 99 aa bb cc dd ee ff"]);
  });
  it("runs raw instructions on a socket filter (skb->len excludes the Ethernet header)", async () => {
    const r = await cli("test-run", raw, "--prog-type", "socket_filter", "--data", `@${asm}`);
    expect(r.code).toBe(0);
    expect(r.out[0]).toMatch(/^Return value: 1, duration: \d+ns$/); // 15-byte frame, 14 of Ethernet
  });
  it("reports ENOTSUPP for kprobes and a load failure with the verifier log", async () => {
    expect((await cli("test-run", asm, "--prog-type", "kprobe")).err.join("\n")).toContain("errno 524");
    const bad = join(dir, "bad.bin");
    writeFileSync(bad, prog(mov(0, 0)));
    const r = await cli("test-run", bad, "--prog-type", "xdp", "--data", "00".repeat(14));
    expect(r.code).toBe(1);
    expect(r.err.join("\n")).toContain("last insn is not an exit or jmp");
  });
  it("rejects an unknown program type with usage", async () => {
    const r = await cli("test-run", asm, "--prog-type", "nope");
    expect(r.code).toBe(2);
    expect(r.err[0]).toContain("unknown program type 'nope'");
  });
});
