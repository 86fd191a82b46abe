/** `bpfsim verify`: exit codes and output for accepted, rejected and unreadable programs. */
import { describe, it, expect } from "vitest";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { verifyCommand } from "../../packages/harness/src/commands/verify.js";
import * as a from "./asm.js";

async function run(argv: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await verifyCommand.run({ argv, out: (l) => void out.push(l), err: (l) => void err.push(l) });
  return { code, out, err };
}

describe("bpfsim verify", () => {
  const dir = mkdtempSync(join(tmpdir(), "verify-cli-"));
  const good = join(dir, "good.bin");
  const bad = join(dir, "bad.bin");
  writeFileSync(good, a.prog(a.mov(0, 0), a.exit()));
  writeFileSync(bad, a.prog(a.ldx("dw", 0, 1, 200), a.exit()));

  it("exits 0 and prints the level-2 log for an accepted program", async () => {
    const r = await run([good, "--log-level", "2", "--stats"]);
    expect(r.code).toBe(0);
    expect(r.out).toContain("0: (b7) r0 = 0                        ; R0=0");
    expect(r.out.some((l) => l.includes("insns processed 2"))).toBe(true);
  });

  it("exits 1 with Linux's message for a rejected program", async () => {
    const r = await run([bad]);
    expect(r.code).toBe(1);
    expect(r.out).toContain("invalid bpf_context access off=200 size=8");
    expect(r.out.at(-1)).toContain("rejected (EACCES)");
  });

  it("honours --prog-type", async () => {
    const r = await run([bad, "--prog-type", "kprobe"]);
    expect(r.code).toBe(1);
    expect(r.out.join("\n")).toContain("invalid bpf_context access off=200 size=8");
  });

  it("exits 2 for a missing file and throws a usage error for bad options", async () => {
    expect((await run([join(dir, "missing.bin")])).code).toBe(2);
    await expect(run([good, "--log-level", "7"])).rejects.toThrow(/log-level/);
  });
});
