import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { spawnSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Kernel } from "../kernel/kernel.js";
import type { Process } from "../kernel/process.js";
import { BpfCmd, BPF_F_ZERO_SEED, MapType } from "../uapi.js";
import { Errno } from "../errno.js";

const MiB = 1024 * 1024;
const unhex = (s: string, n: number) => {
  const b = new Uint8Array(n);
  for (let i = 0; i < n && 2 * i + 1 < s.length; i++) b[i] = parseInt(s.slice(2 * i, 2 * i + 2), 16);
  return b;
};

/** The probe's script language on bpfsim (see bloom-filter-probe.c). */
function runOnSim(p: Process, script: string[]): string[] {
  let fd = -1;
  let vs = 0;
  return script.map((line) => {
    const [op, ...a] = line.split(" ");
    switch (op) {
      case "create": {
        const r = p.bpf(BpfCmd.MapCreate, {
          mapType: MapType.BloomFilter, keySize: 0, valueSize: Number(a[0]), maxEntries: Number(a[1]), mapFlags: Number(a[2]), mapExtra: BigInt(a[3]!),
        });
        if (r >= 0) [fd, vs] = [r, Number(a[0])];
        return String(r < 0 ? r : 0);
      }
      case "push":
        return String(p.bpf(BpfCmd.MapUpdateElem, { mapFd: fd, key: null, value: unhex(a[0]!, vs), flags: Number(a[1]) }));
      case "peek":
        return String(p.bpf(BpfCmd.MapLookupElem, { mapFd: fd, key: null, value: unhex(a[0]!, vs) }));
      case "pop":
        return String(p.bpf(BpfCmd.MapLookupAndDeleteElem, { mapFd: fd, key: null, value: unhex(a[0]!, vs) }));
      case "delete":
        return String(p.bpf(BpfCmd.MapDeleteElem, { mapFd: fd, key: null }));
      case "next":
        return String(p.bpf(BpfCmd.MapGetNextKey, { mapFd: fd, key: null, nextKey: new Uint8Array(8) }));
      default:
        return "-9999";
    }
  });
}

const boot = () => Kernel.create({ ncpus: 2, size: 32 * MiB }).createProcess({ comm: "bloom" });

describe("BLOOM_FILTER", () => {
  it("no false negatives, whatever the seed (fast-check)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 9 }), fc.integer({ min: 0, max: 15 }), fc.uniqueArray(fc.uint8Array({ minLength: 6, maxLength: 6 }), { maxLength: 40 }), (max, k, vals) => {
        const p = boot();
        const fd = p.bpf(BpfCmd.MapCreate, { mapType: MapType.BloomFilter, keySize: 0, valueSize: 6, maxEntries: max, mapExtra: BigInt(k) });
        expect(fd).toBeGreaterThan(0);
        for (const v of vals) expect(p.bpf(BpfCmd.MapUpdateElem, { mapFd: fd, key: null, value: v, flags: 0 })).toBe(0);
        for (const v of vals) expect(p.bpf(BpfCmd.MapLookupElem, { mapFd: fd, key: null, value: v })).toBe(0);
      }),
      { numRuns: 60 },
    );
  });

  it("an empty filter holds nothing; delete and get_next_key are EOPNOTSUPP", () => {
    const p = boot();
    const fd = p.bpf(BpfCmd.MapCreate, { mapType: MapType.BloomFilter, keySize: 0, valueSize: 4, maxEntries: 10 });
    expect(p.bpf(BpfCmd.MapLookupElem, { mapFd: fd, key: null, value: new Uint8Array(4) })).toBe(-Errno.ENOENT);
    expect(p.bpf(BpfCmd.MapDeleteElem, { mapFd: fd, key: null })).toBe(-Errno.EOPNOTSUPP);
    expect(p.bpf(BpfCmd.MapUpdateElem, { mapFd: fd, key: null, value: new Uint8Array(4), flags: 1 })).toBe(-Errno.EINVAL);
  });
});

const probeSrc = fileURLToPath(new URL("./bloom-filter-probe.c", import.meta.url));
function buildProbe(): { bin?: string; why?: string } {
  const bin = join(mkdtempSync(join(tmpdir(), "bpfsim-bloom-")), "probe");
  const cc = spawnSync("gcc", ["-O1", "-o", bin, probeSrc], { encoding: "utf8" });
  if (cc.error || cc.status !== 0) return { why: `gcc unavailable or failed: ${cc.error?.message ?? cc.stderr}` };
  const run = spawnSync(bin, [], { input: "create 4 8 0 0\n", encoding: "utf8" });
  if (run.stdout.trim() !== "0") return { why: `the kernel refused a bloom filter (${run.stdout.trim() || run.stderr}); needs root` };
  return { bin };
}
const probe = buildProbe();
if (!probe.bin) console.log(`bloom filter kernel probe skipped: ${probe.why}`);

describe.skipIf(!probe.bin)("BLOOM_FILTER against the kernel", () => {
  it("attributes, and the same bits as Linux with a zero seed (false positives included)", () => {
    const head = ["create 4 0 64 0", "create 4 100 1 0", "create 4 100 64 16", "create 0 100 64 0", "create 4 100 2 0", "create 4194305 10 64 0"];
    // Values are drawn 13 bytes long; the map reads its value_size of them on both sides.
    const val = fc.uint8Array({ minLength: 13, maxLength: 13 }).map((b) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join(""));
    // A small filter (64 bits) filled by many pushes: peeks of values never pushed often hit set
    // bits, so a false positive here or there shows whether both sides set the same bits.
    const cmd = fc.oneof(
      { arbitrary: fc.tuple(val, fc.constantFrom(0, 0, 0, 2)).map(([v, f]) => `push ${v} ${f}`), weight: 4 },
      { arbitrary: val.map((v) => `peek ${v}`), weight: 4 },
      { arbitrary: fc.constantFrom("delete", "next"), weight: 1 },
      { arbitrary: val.map((v) => `pop ${v}`), weight: 1 },
    );
    fc.assert(
      fc.property(
        fc.constantFrom(3, 4, 8, 13),
        fc.integer({ min: 1, max: 6 }),
        fc.constantFrom(0, 1, 2, 3, 15),
        fc.constantFrom(BPF_F_ZERO_SEED, BPF_F_ZERO_SEED | 4),
        fc.array(cmd, { minLength: 20, maxLength: 100 }),
        (vs, max, k, flags, cmds) => {
          const script = [...head, `create ${vs} ${max} ${flags} ${k}`, ...cmds];
          const real = spawnSync(probe.bin!, [], { input: script.join("\n") + "\n", encoding: "utf8" }).stdout.trim().split("\n");
          expect(runOnSim(boot(), script)).toEqual(real);
        },
      ),
      { numRuns: 25 },
    );
  });
});
