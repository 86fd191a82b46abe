import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { spawnSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Kernel } from "../kernel/kernel.js";
import { BpfCmd, BPF_ANY, BPF_EXIST, BPF_F_NO_PREALLOC, BPF_NOEXIST, MapType } from "../uapi.js";
import { Errno } from "../errno.js";
import { runOnSim } from "../../../../test/kernel-diff/sim-runner.js";

const MiB = 1024 * 1024;
const boot = () => Kernel.create({ ncpus: 2, size: 16 * MiB }).createProcess({ comm: "lpm" });

/** struct { u32 prefixlen; u8 data[n] } */
function key(plen: number, data: number[]): Uint8Array {
  const k = new Uint8Array(4 + data.length);
  new DataView(k.buffer).setUint32(0, plen, true);
  k.set(data, 4);
  return k;
}
const v32 = (n: number) => new Uint8Array(new Uint32Array([n]).buffer);
const ip = (s: string) => s.split(".").map(Number);

function create(p: ReturnType<typeof boot>, ks: number, max = 100, flags = BPF_F_NO_PREALLOC): number {
  return p.bpf(BpfCmd.MapCreate, { mapType: MapType.LpmTrie, keySize: ks, valueSize: 4, maxEntries: max, mapFlags: flags });
}

describe("LPM_TRIE", () => {
  it("checks attributes as Linux (all EINVAL)", () => {
    const p = boot();
    expect(create(p, 8, 10, 0)).toBe(-Errno.EINVAL); // BPF_F_NO_PREALLOC is required
    expect(create(p, 4)).toBe(-Errno.EINVAL);
    expect(create(p, 261)).toBe(-Errno.EINVAL);
    expect(create(p, 8, 0)).toBe(-Errno.EINVAL);
    expect(create(p, 8, 10, BPF_F_NO_PREALLOC | 2)).toBe(-Errno.EINVAL);
    expect(p.bpf(BpfCmd.MapCreate, { mapType: MapType.LpmTrie, keySize: 8, valueSize: 0, maxEntries: 1, mapFlags: 1 })).toBe(-Errno.EINVAL);
    expect(create(p, 5)).toBeGreaterThan(0);
    expect(create(p, 260)).toBeGreaterThan(0);
  });

  it("the worked example: longest prefix, postorder iteration, errno of updates", () => {
    const p = boot();
    const fd = create(p, 8, 5);
    const up = (plen: number, a: string, v: number, f = BPF_ANY) => p.bpf(BpfCmd.MapUpdateElem, { mapFd: fd, key: key(plen, ip(a)), value: v32(v), flags: f });
    expect(up(16, "192.168.0.0", 1)).toBe(0);
    expect(up(24, "192.168.0.0", 2)).toBe(0);
    expect(up(24, "192.168.1.0", 3)).toBe(0);
    expect(up(24, "192.168.128.0", 4)).toBe(0);
    expect(up(33, "192.168.0.0", 4)).toBe(-Errno.EINVAL);
    expect(up(24, "192.168.1.0", 3, BPF_NOEXIST)).toBe(-Errno.EEXIST);
    expect(up(24, "192.168.2.0", 3, BPF_EXIST)).toBe(-Errno.ENOENT);
    expect(up(24, "192.168.1.0", 3, 3)).toBe(-Errno.EINVAL);
    const look = (plen: number, a: string) => {
      const out = new Uint8Array(4);
      const r = p.bpf(BpfCmd.MapLookupElem, { mapFd: fd, key: key(plen, ip(a)), value: out });
      return r === 0 ? new Uint32Array(out.buffer)[0] : r;
    };
    expect(look(32, "192.168.1.1")).toBe(3);
    expect(look(32, "192.168.2.1")).toBe(1);
    expect(look(16, "192.168.1.1")).toBe(1);
    expect(look(32, "10.0.0.1")).toBe(-Errno.ENOENT);
    expect(look(33, "192.168.1.1")).toBe(-Errno.ENOENT);
    const keys: string[] = [];
    let prev: Uint8Array | null = null;
    for (;;) {
      const next = new Uint8Array(8);
      if (p.bpf(BpfCmd.MapGetNextKey, { mapFd: fd, key: prev, nextKey: next }) !== 0) break;
      keys.push(`${[...next.slice(4)].join(".")}/${next[0]}`);
      prev = next;
    }
    expect(keys).toEqual(["192.168.0.0/24", "192.168.1.0/24", "192.168.128.0/24", "192.168.0.0/16"]);
    expect(up(8, "10.0.0.0", 9)).toBe(0);
    expect(up(8, "11.0.0.0", 9)).toBe(-Errno.ENOSPC);
    expect(up(16, "192.168.0.0", 7)).toBe(0); // replacing works when full
    expect(p.bpf(BpfCmd.MapDeleteElem, { mapFd: fd, key: key(23, ip("192.168.0.0")) })).toBe(-Errno.ENOENT);
    expect(p.bpf(BpfCmd.MapDeleteElem, { mapFd: fd, key: key(16, ip("192.168.0.0")) })).toBe(0);
    expect(look(32, "192.168.2.1")).toBe(-Errno.ENOENT);
    expect(p.bpf(BpfCmd.MapLookupAndDeleteElem, { mapFd: fd, key: key(24, ip("192.168.1.0")), value: new Uint8Array(4) })).toBe(-Errno.ENOTSUPP);
  });

  it("matches a longest-prefix model (fast-check)", () => {
    // 12-bit space over 2 bytes of data: many shared prefixes and splits.
    const keyArb = fc.tuple(fc.integer({ min: 0, max: 16 }), fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 15 }));
    const cmd = fc.oneof(
      fc.record({ op: fc.constant("update" as const), k: keyArb, v: fc.integer({ min: 0, max: 1e6 }), f: fc.constantFrom(0, 1, 2) }),
      fc.record({ op: fc.constant("delete" as const), k: keyArb }),
      fc.record({ op: fc.constant("lookup" as const), k: keyArb }),
    );
    fc.assert(
      fc.property(fc.array(cmd, { maxLength: 60 }), (cmds) => {
        const p = boot();
        const max = 12;
        const fd = create(p, 6, max);
        const model = new Map<string, { plen: number; data: number[]; v: number }>();
        const bits = (d: number[], plen: number) => ((d[0]! << 8) | d[1]!) >>> (16 - plen) << 0;
        const id = (plen: number, d: number[]) => `${plen}:${plen === 0 ? 0 : bits(d, plen)}`;
        for (const c of cmds) {
          const [plen, b0, b1] = c.k;
          const d = [b0, b1 << 4];
          const k = key(plen, d);
          const name = id(plen, d);
          if (c.op === "update") {
            const exists = model.has(name);
            let want = 0;
            if (c.f === BPF_NOEXIST && exists) want = -Errno.EEXIST;
            else if (!exists && c.f === BPF_EXIST) want = -Errno.ENOENT;
            else if (!exists && model.size >= max) want = -Errno.ENOSPC;
            expect(p.bpf(BpfCmd.MapUpdateElem, { mapFd: fd, key: k, value: v32(c.v), flags: c.f })).toBe(want);
            if (want === 0) model.set(name, { plen, data: d, v: c.v });
          } else if (c.op === "delete") {
            const want = model.delete(name) ? 0 : -Errno.ENOENT;
            expect(p.bpf(BpfCmd.MapDeleteElem, { mapFd: fd, key: k })).toBe(want);
          } else {
            let best: { plen: number; v: number } | undefined;
            for (const e of model.values()) {
              if (e.plen <= plen && id(e.plen, d) === id(e.plen, e.data) && (!best || e.plen > best.plen)) best = e;
            }
            const out = new Uint8Array(4);
            const r = p.bpf(BpfCmd.MapLookupElem, { mapFd: fd, key: k, value: out });
            if (!best) expect(r).toBe(-Errno.ENOENT);
            else expect([r, new Uint32Array(out.buffer)[0]]).toEqual([0, best.v]);
          }
        }
        // Iteration visits every stored prefix once, with the data last written.
        const seen: string[] = [];
        let prev: Uint8Array | null = null;
        for (let i = 0; i <= max; i++) {
          const next = new Uint8Array(6);
          if (p.bpf(BpfCmd.MapGetNextKey, { mapFd: fd, key: prev, nextKey: next }) !== 0) break;
          seen.push(`${id(next[0]!, [next[4]!, next[5]!])}=${next[4]},${next[5]}`);
          prev = next;
        }
        expect(seen.sort()).toEqual([...model.entries()].map(([n, e]) => `${n}=${e.data[0]},${e.data[1]}`).sort());
        p.close(fd);
      }),
      { numRuns: 150 },
    );
  });

  it("frees every node with the map", () => {
    const k = Kernel.create({ ncpus: 2, size: 16 * MiB });
    const p = k.createProcess({ comm: "lpm" });
    const warm = create(p, 8, 1); // grows the per-thread scratch block to its size for these calls
    p.bpf(BpfCmd.MapUpdateElem, { mapFd: warm, key: key(8, [10, 0, 0, 0]), value: v32(0), flags: 0 });
    p.close(warm);
    const before = k.arena.stats().blocksInUse;
    const fd = create(p, 8, 1000);
    for (let i = 0; i < 600; i++) {
      p.bpf(BpfCmd.MapUpdateElem, { mapFd: fd, key: key(8 + (i % 24), [10, i & 255, i >> 8, 0]), value: v32(i), flags: 0 });
      if (i % 3 === 0) p.bpf(BpfCmd.MapDeleteElem, { mapFd: fd, key: key(8 + (i % 24), [10, i & 255, i >> 8, 0]) });
    }
    p.close(fd);
    expect(k.arena.stats().blocksInUse).toBe(before);
  });
});

// ---- the kernel as the oracle: random scripts on both, outputs equal line for line ----

const mapsysSrc = fileURLToPath(new URL("../../../../test/kernel-diff/mapsys.c", import.meta.url));
function buildMapsys(): { bin?: string; why?: string } {
  const bin = join(mkdtempSync(join(tmpdir(), "bpfsim-lpm-")), "mapsys");
  const cc = spawnSync("gcc", ["-O1", "-o", bin, mapsysSrc], { encoding: "utf8" });
  if (cc.error || cc.status !== 0) return { why: `gcc unavailable or failed: ${cc.error?.message ?? cc.stderr}` };
  const probe = spawnSync(bin, [], { input: "create 11 8 4 1 1\n", encoding: "utf8" });
  if (probe.stdout.trim() !== "0") return { why: `bpf(BPF_MAP_CREATE) of an LPM trie refused (${probe.stdout.trim() || probe.stderr}); needs root` };
  return { bin };
}
const mapsys = buildMapsys();
if (!mapsys.bin) console.log(`LPM kernel-differential test skipped: ${mapsys.why}`);

describe.skipIf(!mapsys.bin)("LPM_TRIE against the kernel", () => {
  const hx = (b: number[]) => b.map((x) => x.toString(16).padStart(2, "0")).join("");
  const keyHex = (plen: number, d: number[]) => hx([plen, 0, 0, 0, ...d]);

  it("bad attributes give the kernel's errno", () => {
    const script = [
      "create 11 8 4 2 0", "create 11 4 4 2 1", "create 11 5 4 2 1", "create 11 260 4 2 1", "create 11 261 4 2 1",
      "create 11 8 0 2 1", "create 11 8 4194024 2 1", "create 11 8 4194025 2 1", "create 11 8 4 0 1",
      "create 11 8 4 2 129", "create 11 8 4 2 3", "create 11 8 4 2 385", "create 11 8 4 2 5",
    ];
    const real = spawnSync(mapsys.bin!, [], { input: script.join("\n") + "\n", encoding: "utf8" }).stdout.trim().split("\n");
    const k = Kernel.create({ ncpus: 2, size: 64 * MiB });
    expect(runOnSim(k.createProcess({ comm: "lpm" }), script)).toEqual(real);
  });

  it("random update/delete/lookup/next scripts print the same", () => {
    const dataArb = fc.tuple(fc.constantFrom(10, 192), fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 255 }));
    const k = fc.tuple(fc.constantFrom(0, 1, 7, 8, 9, 15, 16, 17, 23, 24, 30, 32, 33), dataArb).map(([pl, [a, b, c]]) => keyHex(pl, [a, b, c, 0]));
    const line = fc.oneof(
      fc.tuple(k, fc.integer({ min: 0, max: 99 }), fc.constantFrom(0, 0, 1, 2, 3)).map(([kk, v, f]) => `update 0 ${kk} ${hx([v, 0, 0, 0])} ${f}`),
      k.map((kk) => `delete 0 ${kk}`),
      k.map((kk) => `lookup 0 ${kk} 4 0`),
      k.map((kk) => `next 0 ${kk} 8`),
      fc.constant("next 0 - 8"),
      fc.tuple(fc.constantFrom("lookup_batch", "lookup_and_delete_batch"), fc.integer({ min: 1, max: 20 })).map(([op, n]) => `${op} 0 - ${n} 8 4 0 0`),
      fc.tuple(k, fc.integer({ min: 0, max: 99 })).map(([kk, v]) => `update_batch 0 ${kk} ${hx([v, 0, 0, 0])} 1 0 0`),
      k.map((kk) => `delete_batch 0 ${kk} 1 0 0`),
    );
    fc.assert(
      fc.property(fc.array(line, { minLength: 5, maxLength: 80 }), (lines) => {
        const script = ["create 11 8 4 16 1", ...lines];
        const real = spawnSync(mapsys.bin!, [], { input: script.join("\n") + "\n", encoding: "utf8" }).stdout.trim().split("\n");
        const kk = Kernel.create({ ncpus: 2, size: 16 * MiB });
        expect(runOnSim(kk.createProcess({ comm: "lpm" }), script)).toEqual(real);
      }),
      { numRuns: 40 },
    );
  });
});
