import { describe, expect, it } from "vitest";
import { main } from "../../packages/harness/src/cli.js";
import { fixturesDir } from "./load-fixture.js";

async function cli(...argv: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out: out.join("\n").split("\n"), err };
}

describe("bpfsim inspect", () => {
  it("lists maps and programs like bpftool", async () => {
    const r = await cli("inspect", `${fixturesDir}maps.bpf.o`);
    expect(r.code).toBe(0);
    expect(r.out).toContain("  hash_map: hash  key 4B  value 40B  max_entries 1024  flags 0x0");
    expect(r.out).toContain("  lru_hash: lru_hash  key 8B  value 8B  max_entries 256  flags 0x2  pinned by name");
    expect(r.out.find((l) => l.startsWith("  touch_maps:"))).toMatch(/xdp {2}section xdp {2}insns 88 {2}expected_attach xdp/);
  });

  it("shows global data, attach points, subprograms and line info", async () => {
    const g = await cli("inspect", `${fixturesDir}globals.bpf.o`);
    expect(g.out.find((l) => l.startsWith("  globals.rodata:"))).toMatch(/flags 0x480 {2}section \.rodata {2}frozen/);
    const s = await cli("inspect", `${fixturesDir}subprogs.bpf.o`, "--lines");
    expect(s.out.find((l) => l.startsWith("  calls_a:"))).toMatch(/calls sum_squares,square,add_to_acc/);
    expect(s.out.some((l) => /^\s+0: \.\/subprogs\.bpf\.c:\d+:\d+ /.test(l))).toBe(true);
    const t = await cli("inspect", `${fixturesDir}sections.bpf.o`, "--json");
    const doc = JSON.parse(t.out.join("\n")) as { programs: { name: string; attachTo: string; type: string }[] };
    expect(doc.programs.find((p) => p.name === "p_kprobe")).toMatchObject({ type: "kprobe", attachTo: "do_unlinkat" });
  });

  it("--btf dumps the BTF like bpftool, with DATASECs fixed up", async () => {
    const r = await cli("inspect", `${fixturesDir}globals.bpf.o`, "--btf");
    expect(r.code).toBe(0);
    expect(r.out).toContain("[40] DATASEC '.data' size=24 vlen=3");
    expect(r.out).toContain("\ttype_id=29 offset=8 size=4 (VAR 'hidden_val')");
  });

  it("reports a bad object as an error, and a missing argument as usage", async () => {
    const bad = await cli("inspect", `${fixturesDir}build.sh`);
    expect(bad.code).toBe(1);
    expect(bad.err.join("\n")).toMatch(/EINVAL: ELF/);
    expect((await cli("inspect")).code).toBe(2);
  });
});
