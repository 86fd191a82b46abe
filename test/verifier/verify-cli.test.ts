/**
 * `bpfsim verify`: exit codes and output for accepted, rejected and unreadable programs; object
 * files that need pruning with precision (hash_lookup) and map-in-map, with their processed
 * counts checked against the running kernel when bpftool can load them.
 */
import { describe, it, expect } from "vitest";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
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

  const objects = [
    ["hash_lookup", fileURLToPath(new URL("../../../shared/bench/progs/hash_lookup.bpf.o", import.meta.url))],
    ["map_in_map", fileURLToPath(new URL("../fixtures/map_in_map.bpf.o", import.meta.url))],
  ] as const;
  /** Processed count of Linux's verifier (bpftool prog load with the libbpf debug log), or why not. */
  const linuxProcessed = (obj: string): number | string => {
    if (process.getuid?.() !== 0) return "needs root";
    const pin = join("/sys/fs/bpf", `bpfsim-verify-${process.pid}`);
    const r = spawnSync("bpftool", ["-d", "prog", "load", obj, pin], { encoding: "utf8", maxBuffer: 256 << 20 });
    if (existsSync(pin)) rmSync(pin);
    if (r.error) return `bpftool: ${r.error.message}`;
    const m = /processed (\d+) insns/.exec(r.stderr + r.stdout);
    return m ? Number(m[1]) : "bpftool printed no verifier log";
  };
  for (const [name, obj] of objects) {
    if (!existsSync(obj)) console.log(`${name}.bpf.o not there: skipped`);
    it.skipIf(!existsSync(obj))(`accepts ${name}.bpf.o with Linux's processed count`, async () => {
      const r = await run([obj, "--stats"]);
      expect(r.code).toBe(0);
      const ours = Number(/insns processed (\d+)/.exec(r.out.join("\n"))?.[1]);
      const linux = linuxProcessed(obj);
      console.log(`${name}: bpfsim processed ${ours} insns; Linux ${linux}`);
      if (typeof linux === "number") expect(ours).toBe(linux);
    });
  }
});
