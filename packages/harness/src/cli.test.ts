import { describe, it, expect } from "vitest";
import { mkdtempSync, writeFileSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { main, parseArgs, UsageError } from "./cli.js";

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out: out.join("\n"), err: err.join("\n") };
}

describe("bpfsim CLI", () => {
  it("exits 2 on usage errors and prints bpfsim: <message>", async () => {
    expect((await cli()).code).toBe(2);
    const unknown = await cli("frobnicate");
    expect(unknown.code).toBe(2);
    expect(unknown.err).toMatch(/^bpfsim: unknown command 'frobnicate'/);
    const noArg = await cli("asm");
    expect(noArg.code).toBe(2);
    expect(noArg.err).toMatch(/^bpfsim: give exactly one input file/);
    expect((await cli("conformance", "x", "--bogus")).code).toBe(2);
    expect((await cli("help")).code).toBe(0);
    expect(() => parseArgs(["--engine"], ["--engine"])).toThrow(UsageError);
    expect(parseArgs(["a", "--engine=jit", "-o", "f"], ["--engine", "-o"]).options.get("--engine")).toBe("jit");
  });

  it("assembles, disassembles and runs conformance files; exit 1 on a failure", async () => {
    const dir = mkdtempSync(join(tmpdir(), "bpfsim-cli-"));
    try {
      writeFileSync(join(dir, "prog.s"), "mov %r0, 1\nadd %r0, 41\nexit\n");
      const asm = await cli("asm", join(dir, "prog.s"), "-o", join(dir, "prog.bin"));
      expect(asm.code).toBe(0);
      expect(readFileSync(join(dir, "prog.bin")).length).toBe(24);
      const dis = await cli("disasm", join(dir, "prog.bin"));
      expect(dis.out).toMatch(/r0 = 1\n.*r0 \+= 41\n.*exit/);
      const dis2 = await cli("disasm", join(dir, "prog.bin"), "--style", "conformance");
      expect(dis2.out).toBe("mov %r0, 1\nadd %r0, 41\nexit");
      const notElf = await cli("disasm", join(dir, "prog.bin"), "--section", "xdp");
      expect(notElf.code).toBe(2);
      const bad = await cli("asm", join(dir, "missing.s"));
      expect(bad.code).toBe(1);
      expect(bad.err).toMatch(/^bpfsim: cannot read/);

      writeFileSync(join(dir, "ok.data"), "-- asm\nmov %r0, 2\nexit\n-- result\n0x2\n");
      writeFileSync(join(dir, "bad.data"), "-- asm\nmov %r0, 3\nexit\n-- result\n0x2\n");
      const conf = await cli("conformance", dir);
      expect(conf.code).toBe(1);
      expect(conf.out).toMatch(/FAIL bad\.data: r0 = 0x3, expected 0x2/);
      expect(conf.out.split("\n").at(-1)).toBe("1 passed, 1 failed");
      const one = await cli("conformance", join(dir, "ok.data"));
      expect(one.code).toBe(0);
      expect(one.out).toBe("1 passed, 0 failed");
      const noEngine = await cli("conformance", dir, "--engine", "nosuch");
      expect(noEngine.code).toBe(1);
      expect(noEngine.err).toMatch(/engine 'nosuch' is not available/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
