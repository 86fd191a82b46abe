import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { spawnSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Kernel } from "../kernel/kernel.js";
import { BpfCmd, BPF_ANY, BPF_EXIST, MapType } from "../uapi.js";
import { Errno } from "../errno.js";
import { runOnSim } from "../../../../test/kernel-diff/sim-runner.js";

const MiB = 1024 * 1024;
const boot = () => Kernel.create({ ncpus: 2, size: 16 * MiB }).createProcess({ comm: "qs" });
const v32 = (n: number) => new Uint8Array(new Uint32Array([n]).buffer);
const n32 = (b: Uint8Array) => new Uint32Array(b.buffer, b.byteOffset, 1)[0]!;

describe.each([
  ["QUEUE", MapType.Queue],
  ["STACK", MapType.Stack],
] as const)("%s", (_name, type) => {
  it("attributes and the keyless commands", () => {
    const p = boot();
    const mk = (ks: number, vs: number, max: number, flags = 0) =>
      p.bpf(BpfCmd.MapCreate, { mapType: type, keySize: ks, valueSize: vs, maxEntries: max, mapFlags: flags });
    expect(mk(4, 4, 4)).toBe(-Errno.EINVAL);
    expect(mk(0, 0, 4)).toBe(-Errno.EINVAL);
    expect(mk(0, 4, 0)).toBe(-Errno.EINVAL);
    expect(mk(0, 4, 4, 1)).toBe(-Errno.EINVAL);
    expect(mk(0, 4, 4, 128)).toBeGreaterThan(0);
    const fd = mk(0, 4, 2);
    expect(p.bpf(BpfCmd.MapUpdateElem, { mapFd: fd, key: v32(0), value: v32(1), flags: 0 })).toBe(-Errno.EINVAL);
    expect(p.bpf(BpfCmd.MapUpdateElem, { mapFd: fd, key: null, value: v32(1), flags: 1 })).toBe(-Errno.EINVAL);
    expect(p.bpf(BpfCmd.MapDeleteElem, { mapFd: fd, key: null })).toBe(-Errno.EINVAL);
    expect(p.bpf(BpfCmd.MapGetNextKey, { mapFd: fd, key: null, nextKey: null })).toBe(-Errno.EINVAL);
    expect(p.bpf(BpfCmd.MapLookupElem, { mapFd: fd, key: null, value: new Uint8Array(4) })).toBe(-Errno.ENOENT);
  });

  it("matches a FIFO/LIFO model (fast-check)", () => {
    const cmd = fc.oneof(
      fc.record({ op: fc.constant("push" as const), v: fc.nat(), f: fc.constantFrom(BPF_ANY, BPF_EXIST) }),
      fc.constant({ op: "pop" as const }),
      fc.constant({ op: "peek" as const }),
    );
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 5 }), fc.array(cmd, { maxLength: 50 }), (max, cmds) => {
        const p = boot();
        const fd = p.bpf(BpfCmd.MapCreate, { mapType: type, keySize: 0, valueSize: 4, maxEntries: max });
        const model: number[] = []; // oldest first
        for (const c of cmds) {
          if (c.op === "push") {
            let want = 0;
            if (model.length === max) {
              if (c.f === BPF_EXIST) model.shift();
              else want = -Errno.E2BIG;
            }
            expect(p.bpf(BpfCmd.MapUpdateElem, { mapFd: fd, key: null, value: v32(c.v), flags: c.f })).toBe(want);
            if (want === 0) model.push(c.v);
          } else {
            const out = new Uint8Array(4);
            const cmdNo = c.op === "pop" ? BpfCmd.MapLookupAndDeleteElem : BpfCmd.MapLookupElem;
            const r = p.bpf(cmdNo, { mapFd: fd, key: null, value: out, flags: 0 });
            if (model.length === 0) {
              expect(r).toBe(-Errno.ENOENT);
              continue;
            }
            expect(r).toBe(0);
            const want = type === MapType.Queue ? model[0]! : model[model.length - 1]!;
            expect(n32(out)).toBe(want);
            if (c.op === "pop") {
              if (type === MapType.Queue) model.shift();
              else model.pop();
            }
          }
        }
      }),
      { numRuns: 100 },
    );
  });
});

const mapsysSrc = fileURLToPath(new URL("../../../../test/kernel-diff/mapsys.c", import.meta.url));
function buildMapsys(): { bin?: string; why?: string } {
  const bin = join(mkdtempSync(join(tmpdir(), "bpfsim-qs-")), "mapsys");
  const cc = spawnSync("gcc", ["-O1", "-o", bin, mapsysSrc], { encoding: "utf8" });
  if (cc.error || cc.status !== 0) return { why: `gcc unavailable or failed: ${cc.error?.message ?? cc.stderr}` };
  const probe = spawnSync(bin, [], { input: "create 22 0 4 1 0\n", encoding: "utf8" });
  if (probe.stdout.trim() !== "0") return { why: `bpf(BPF_MAP_CREATE) of a queue refused (${probe.stdout.trim() || probe.stderr}); needs root` };
  return { bin };
}
const mapsys = buildMapsys();
if (!mapsys.bin) console.log(`queue/stack kernel-differential test skipped: ${mapsys.why}`);

describe.skipIf(!mapsys.bin)("QUEUE and STACK against the kernel", () => {
  it("bad attributes and random command scripts print the same", () => {
    const head = ["create 22 4 4 4 0", "create 22 0 0 4 0", "create 22 0 4 0 0", "create 22 0 4 4 1", "create 23 0 4 4 4", "create 22 0 4194305 1 0"];
    const hx = (n: number) => [n, 0, 0, 0].map((x) => x.toString(16).padStart(2, "0")).join("");
    const line = fc.oneof(
      fc.tuple(fc.integer({ min: 0, max: 255 }), fc.constantFrom(0, 1, 2, 3, 4)).map(([v, f]) => `update 6 - ${hx(v)} ${f}`),
      fc.constant("lookup 6 - 4 0"),
      fc.constant("lookup 6 - 4 4"),
      fc.constant("lookup_and_delete 6 - 4 0"),
      fc.constant("lookup_and_delete 6 - 4 1"),
      fc.constant("delete 6 -"),
      fc.constant("next 6 - 0"),
      fc.constant(`update 6 ${hx(0)} ${hx(1)} 0`),
    );
    fc.assert(
      fc.property(fc.constantFrom(22, 23), fc.array(line, { maxLength: 40 }), (t, lines) => {
        const script = [...head, `create ${t} 0 4 3 0`, ...lines];
        const real = spawnSync(mapsys.bin!, [], { input: script.join("\n") + "\n", encoding: "utf8" }).stdout.trim().split("\n");
        const k = Kernel.create({ ncpus: 2, size: 32 * MiB });
        expect(runOnSim(k.createProcess({ comm: "qs" }), script)).toEqual(real);
      }),
      { numRuns: 30 },
    );
  });
});
