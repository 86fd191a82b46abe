/**
 * Kernel-differential test: fast-check generates scripts of map syscalls,
 * mapsys.c runs them on the real kernel, sim-runner.ts on bpfsim, and the
 * outputs must be equal line for line.
 *
 * Allowed nondeterminism, and only for hash types: iteration order
 * (get_next_key results and batch contents are compared as "ok or not",
 * the final contents as a set via per-key lookups). LRU maps are given room
 * so that no eviction happens (victim choice differs by design).
 *
 * Needs gcc and a kernel that lets us call bpf() (root); otherwise skipped
 * with the reason printed.
 */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Kernel, MapType, mapOpsFor } from "@bpfsim/core";
import { runOnSim } from "./sim-runner.js";

const src = fileURLToPath(new URL("./mapsys.c", import.meta.url));

function possibleCpus(): number {
  try {
    const s = readFileSync("/sys/devices/system/cpu/possible", "utf8").trim();
    return s.split(",").reduce((n, r) => {
      const [a, b] = r.split("-").map(Number);
      return n + (b === undefined ? 1 : b - a! + 1);
    }, 0);
  } catch {
    return 1;
  }
}

function buildHelper(): { bin?: string; why?: string } {
  const dir = mkdtempSync(join(tmpdir(), "bpfsim-kdiff-"));
  const bin = join(dir, "mapsys");
  const cc = spawnSync("gcc", ["-O1", "-o", bin, src], { encoding: "utf8" });
  if (cc.error || cc.status !== 0) return { why: `gcc unavailable or failed: ${cc.error?.message ?? cc.stderr}` };
  const probe = spawnSync(bin, [], { input: "create 2 4 8 1 0\n", encoding: "utf8" });
  if (probe.stdout.trim() !== "0") return { why: `bpf(BPF_MAP_CREATE) refused by this kernel (${probe.stdout.trim() || probe.stderr}); run as root` };
  return { bin };
}

const helper = buildHelper();
if (!helper.bin) console.log(`kernel-differential test skipped: ${helper.why}`);
const NCPUS = possibleCpus();

const isHash = (t: number) => t === MapType.Hash || t === MapType.PercpuHash || t === MapType.LruHash || t === MapType.LruPercpuHash;
const isPercpu = (t: number) => t === MapType.PercpuArray || t === MapType.PercpuHash || t === MapType.LruPercpuHash;
const isLru = (t: number) => t === MapType.LruHash || t === MapType.LruPercpuHash;
const types = [MapType.Array, MapType.PercpuArray, MapType.Hash, MapType.PercpuHash, MapType.LruHash, MapType.LruPercpuHash].filter((t) => mapOpsFor(t) !== undefined);

interface Spec {
  name: string;
  type: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  flags: number;
}

const noBatch = types.filter((t) => !mapOpsFor(t)?.batchOps?.lookup && isHash(t)).map((t) => MapType[t]);
if (noBatch.length) console.log(`kernel-differential: batch commands not compared for ${noBatch.join(", ")} (not implemented: ENOTSUPP on bpfsim)`);

const hexOf = (bytes: number[]) => bytes.map((b) => b.toString(16).padStart(2, "0")).join("");
const keyHex = (ks: number, i: number) => hexOf(Array.from({ length: ks }, (_, j) => (j === 0 ? i & 0xff : j === 1 ? i >> 8 : 0)));
const uvs = (s: Spec) => (isPercpu(s.type) ? NCPUS * ((s.valueSize + 7) & ~7) : s.valueSize);

const specArb: fc.Arbitrary<Spec> = fc.record({
  type: fc.constantFrom(...types),
  keySize: fc.constantFrom(4, 4, 4, 8, 0),
  valueSize: fc.constantFrom(1, 4, 8, 12, 16, 0),
  maxEntries: fc.constantFrom(1, 2, 4, 7, 0),
  // Valid and invalid: NO_PREALLOC, RDONLY/WRONLY, *_PROG, MMAPABLE, ZERO_SEED, INNER_MAP, junk.
  flags: fc.constantFrom(0, 0, 0, 0, 1, 2, 4, 8, 16, 24, 128, 256, 384, 1024, 64, 2048, 4096, 1 << 16, 1 << 20),
  // bpf_obj_name_cpy(): [A-Za-z0-9_.], NUL within 16 bytes.
  name: fc.constantFrom("m", "m", "a.b_C9", "bad-name", "0123456789abcde", "0123456789abcdef"),
})
  // LRU sizes need not be multiples of the CPUs: with BPF_F_NO_COMMON_LRU (2)
  // Linux rounds max_entries up, and info must show the same value.
  .map((s) => (isLru(s.type) ? { ...s, maxEntries: s.maxEntries + 1024 } : s));

function opArb(s: Spec): fc.Arbitrary<string> {
  const ks = s.keySize || 4;
  const key = fc.integer({ min: 0, max: 9 }).map((i) => keyHex(ks, i));
  const value = fc.array(fc.integer({ min: 0, max: 255 }), { minLength: uvs(s), maxLength: uvs(s) }).map((b) => hexOf(b) || "00");
  const flags = fc.constantFrom(0, 0, 0, 1, 2, 3, 4, 8);
  const hash = isHash(s.type);
  const batch = mapOpsFor(s.type)?.batchOps ?? {};
  const ops: fc.Arbitrary<string>[] = [
    fc.tuple(key, value, flags).map(([k, v, f]) => `update 0 ${k} ${v} ${f}`),
    fc.tuple(key, fc.constantFrom(0, 0, 4, 8)).map(([k, f]) => `lookup 0 ${k} ${uvs(s)} ${f}`),
    key.map((k) => `delete 0 ${k}`),
    fc.option(key).map((k) => `next 0 ${k ?? "-"} ${ks}`),
    fc.tuple(fc.integer({ min: 0, max: 4 }), fc.constantFrom(0, 0, 1, 4)).map(([c, ef]) => `lookup_batch 0 - ${c} ${ks} ${uvs(s)} ${ef} 0`),
    fc.tuple(fc.array(fc.tuple(key, value), { minLength: 1, maxLength: 3 }), fc.constantFrom(0, 0, 1, 2)).map(
      ([kv, ef]) => `update_batch 0 ${kv.map((x) => x[0]).join("")} ${kv.map((x) => x[1]).join("")} ${kv.length} ${ef} 0`,
    ),
    fc.array(key, { minLength: 1, maxLength: 3 }).map((ks2) => `delete_batch 0 ${ks2.join("")} ${ks2.length} 0 0`),
    key.map((k) => `lookup_and_delete 0 ${k} ${uvs(s)} 0`),
    fc.constant("freeze 0"),
    fc.constant("info 0"),
  ];
  // A batch command the type has not opted into would fail with ENOTSUPP on
  // bpfsim but work on Linux: leave it out (reported once, below).
  const missing = [!batch.lookup && 4, !batch.update && 5, !batch.delete && 6];
  return fc.oneof(
    ...ops
      .map((arbitrary, i) => ({ arbitrary, weight: i === 8 ? 1 : hash && i === 4 ? 1 : 4, i }))
      .filter((o) => !missing.includes(o.i))
      .map(({ arbitrary, weight }) => ({ arbitrary, weight })),
  );
}

const scriptArb = specArb.chain((s) =>
  fc.array(opArb(s), { minLength: 1, maxLength: 25 }).map((ops) => {
    const name = s.name;
    const dump = Array.from({ length: 10 }, (_, i) => `lookup 0 ${keyHex(s.keySize || 4, i)} ${uvs(s)} 0`);
    return { spec: s, lines: [`create ${s.type} ${s.keySize} ${s.valueSize} ${s.maxEntries} ${s.flags} ${name}`, ...ops, ...dump] };
  }),
);

/** Masks the parts of a line whose value is unordered for hash maps. */
function normalise(line: string, cmd: string, hash: boolean): string {
  if (!hash) return line;
  const op = cmd.split(" ")[0];
  // The first key's existence is order-free; what follows a given key is not.
  if (op === "next") return cmd.split(" ")[2] === "-" ? line.split(" ")[0]! : "*";
  // Linux's htab batch walks buckets: it returns ENOENT in the same call that
  // reaches the last bucket, ENOSPC when one bucket holds more than `count`,
  // and a bucket index as the token. Contents are compared by the final dump.
  if (op === "lookup_batch") return "*";
  return line;
}

describe("map syscalls against the real kernel", () => {
  it.skipIf(!helper.bin)(`agree on ${types.map((t) => MapType[t]).join(", ")} (ncpus = ${NCPUS})`, () => {
    fc.assert(
      fc.property(scriptArb, ({ spec, lines }) => {
        const res = spawnSync(helper.bin!, [], { input: lines.join("\n") + "\n", encoding: "utf8" });
        const linux = res.stdout.trimEnd().split("\n");
        const k = Kernel.create({ ncpus: NCPUS, size: 32 * 1024 * 1024 });
        const p = k.createProcess({ memlockLimit: Infinity });
        const sim = runOnSim(p, lines);
        const hash = isHash(spec.type);
        const a = lines.map((l, i) => `${l}  =>  ${normalise(linux[i] ?? "", l, hash)}`);
        const b = lines.map((l, i) => `${l}  =>  ${normalise(sim[i] ?? "", l, hash)}`);
        const diff = a.flatMap((l, i) => (l === b[i] ? [] : [`linux : ${l}`, `bpfsim: ${b[i]}`]));
        if (diff.length > 0) throw new Error(`bpfsim differs from Linux:\n${diff.join("\n")}`);
      }),
      { numRuns: Number(process.env.KDIFF_RUNS ?? 150) },
    );
  });
});
