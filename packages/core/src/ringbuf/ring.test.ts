import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { spawnSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { runOnSim } from "../../../../test/kernel-diff/sim-runner.js";
import { Kernel } from "../kernel/kernel.js";
import { mapGet } from "../kernel/map-cmds.js";
import { BpfCmd, MapType } from "../uapi.js";
import { Errno } from "../errno.js";
import { ringbufBase } from "../maps/ringbuf.js";
import { RingBuffer } from "./consumer.js";
import {
  BPF_RB_AVAIL_DATA, BPF_RB_CONS_POS, BPF_RB_FORCE_WAKEUP, BPF_RB_NO_WAKEUP, BPF_RB_PROD_POS, BPF_RB_RING_SIZE,
  BPF_RINGBUF_BUSY_BIT, DATA_PAGE, ringCommit, ringQuery, ringReserve, wakeWord,
} from "./ring.js";

const MiB = 1024 * 1024;

function setup(size = 4096) {
  const k = Kernel.create({ ncpus: 2, size: 16 * MiB });
  const p = k.createProcess({ comm: "rb" });
  const fd = p.bpf(BpfCmd.MapCreate, { mapType: MapType.Ringbuf, keySize: 0, valueSize: 0, maxEntries: size, mapFlags: 0 });
  expect(fd).toBeGreaterThan(0);
  const h = mapGet(p, fd);
  if (typeof h === "number") throw new Error("no map");
  return { k, p, fd, a: k.arena, base: ringbufBase(h.hdr) };
}

describe("RINGBUF map", () => {
  it("attributes and element commands as Linux", () => {
    const k = Kernel.create({ ncpus: 2, size: 16 * MiB });
    const p = k.createProcess({ comm: "rb" });
    const mk = (ks: number, vs: number, max: number, flags = 0) =>
      p.bpf(BpfCmd.MapCreate, { mapType: MapType.Ringbuf, keySize: ks, valueSize: vs, maxEntries: max, mapFlags: flags });
    expect(mk(4, 0, 4096)).toBe(-Errno.EINVAL);
    expect(mk(0, 4, 4096)).toBe(-Errno.EINVAL);
    expect(mk(0, 0, 4095)).toBe(-Errno.EINVAL);
    expect(mk(0, 0, 12288)).toBe(-Errno.EINVAL);
    expect(mk(0, 0, 2048)).toBe(-Errno.EINVAL);
    expect(mk(0, 0, 0)).toBe(-Errno.EINVAL);
    expect(mk(0, 0, 4096, 1)).toBe(-Errno.EINVAL);
    expect(mk(0, 0, 4096, 8)).toBe(-Errno.EINVAL);
    // Linux takes it; this arena cannot (over RLIMIT_MEMLOCK or over the arena).
    expect([-Errno.EPERM, -Errno.ENOMEM]).toContain(mk(0, 0, 1 << 30));
    const fd = mk(0, 0, 4096, 4);
    expect(fd).toBeGreaterThan(0);
    expect(p.bpf(BpfCmd.MapLookupElem, { mapFd: fd, key: null, value: null })).toBe(-Errno.ENOTSUPP);
    expect(p.bpf(BpfCmd.MapUpdateElem, { mapFd: fd, key: null, value: new Uint8Array(0), flags: 0 })).toBe(-Errno.ENOTSUPP);
    expect(p.bpf(BpfCmd.MapDeleteElem, { mapFd: fd, key: null })).toBe(-Errno.ENOTSUPP);
    expect(p.bpf(BpfCmd.MapGetNextKey, { mapFd: fd, key: null, nextKey: null })).toBe(-Errno.ENOTSUPP);
  });

  it("record header, pg_off, query and wake-ups", () => {
    const { a, base, p, fd } = setup();
    const s = ringReserve(a, base, 10);
    expect(s).toBe(base + DATA_PAGE + 8);
    expect(a.u32[(s - 8) >>> 2]).toBe((10 | BPF_RINGBUF_BUSY_BIT) >>> 0);
    expect(a.u32[(s - 4) >>> 2]).toBe(3); // header page from the block start, as Linux's pg_off
    expect(ringQuery(a, base, BigInt(BPF_RB_PROD_POS))).toBe(24n);
    expect(ringQuery(a, base, BigInt(BPF_RB_AVAIL_DATA))).toBe(24n);
    expect(ringQuery(a, base, BigInt(BPF_RB_RING_SIZE))).toBe(4096n);
    expect(ringQuery(a, base, BigInt(BPF_RB_CONS_POS))).toBe(0n);
    expect(ringQuery(a, base, 9n)).toBe(0n);
    const w0 = Atomics.load(a.i32, wakeWord(base));
    ringCommit(a, s, BPF_RB_NO_WAKEUP, false);
    expect(Atomics.load(a.i32, wakeWord(base))).toBe(w0);
    const s2 = ringReserve(a, base, 8);
    ringCommit(a, s2, 0, false); // the consumer is not at this record: no wake-up
    expect(Atomics.load(a.i32, wakeWord(base))).toBe(w0);
    ringCommit(a, ringReserve(a, base, 8), BPF_RB_FORCE_WAKEUP, false);
    expect(Atomics.load(a.i32, wakeWord(base))).toBe(w0 + 1);
    const got: number[] = [];
    const rb = new RingBuffer(p, fd, (_d, n) => void got.push(n));
    expect(rb.consume()).toBe(3);
    expect(got).toEqual([10, 8, 8]);
    expect(ringQuery(a, base, BigInt(BPF_RB_CONS_POS))).toBe(ringQuery(a, base, BigInt(BPF_RB_PROD_POS)));
    ringCommit(a, ringReserve(a, base, 8), 0, false); // consumer caught up: wakes it
    expect(Atomics.load(a.i32, wakeWord(base))).toBe(w0 + 2);
    rb.free();
  });

  it("poll waits for a wake-up without spinning", async () => {
    const { a, base, p, fd } = setup();
    const got: string[] = [];
    const rb = new RingBuffer(p, fd, (d) => void got.push(String.fromCharCode(...d)));
    setTimeout(() => {
      const s = ringReserve(a, base, 2);
      a.u8.set([104, 105], s);
      ringCommit(a, s, 0, false);
    }, 5);
    expect(await rb.poll(5000)).toBe(1);
    expect(got).toEqual(["hi"]);
    expect(await rb.poll(1)).toBe(0);
    rb.free();
  });

  it("behaves like a model: order, discard, wrap-around, full (fast-check)", () => {
    type Cmd = { op: "reserve"; size: number } | { op: "commit"; pick: number; discard: boolean } | { op: "consume" };
    const cmd: fc.Arbitrary<Cmd> = fc.oneof(
      fc.record({ op: fc.constant("reserve" as const), size: fc.oneof(fc.integer({ min: 0, max: 64 }), fc.integer({ min: 500, max: 4100 })) }),
      fc.record({ op: fc.constant("commit" as const), pick: fc.nat(), discard: fc.boolean() }),
      fc.constant({ op: "consume" as const }),
    );
    fc.assert(
      fc.property(fc.array(cmd, { maxLength: 80 }), (cmds) => {
        const { a, base, p, fd } = setup(4096);
        const got: Uint8Array[] = [];
        const rb = new RingBuffer(p, fd, (d) => void got.push(d.slice()));
        // Model: records in reservation order; the ring accepts while the span from the
        // consumer, and from the oldest busy record, to the new end stays below the size.
        const recs: { pos: number; len: number; data: Uint8Array; state: "busy" | "done" | "discarded"; sample: number }[] = [];
        let prod = 0;
        let cons = 0;
        let seq = 0;
        const expected: Uint8Array[] = [];
        for (const c of cmds) {
          if (c.op === "reserve") {
            const len = (c.size + 8 + 7) & ~7;
            const oldestBusy = recs.find((r) => r.state === "busy")?.pos ?? prod;
            const fits = len <= 4096 && prod + len - cons <= 4095 && prod + len - oldestBusy <= 4095;
            const s = ringReserve(a, base, c.size);
            expect(s !== 0).toBe(fits);
            if (!fits) continue;
            const data = new Uint8Array(c.size).map((_, i) => (seq * 31 + i) & 255);
            seq++;
            a.u8.set(data, s);
            recs.push({ pos: prod, len, data, state: "busy", sample: s });
            prod += len;
          } else if (c.op === "commit") {
            const busy = recs.filter((r) => r.state === "busy");
            if (busy.length === 0) continue;
            const r = busy[c.pick % busy.length]!;
            ringCommit(a, r.sample, 0, c.discard);
            r.state = c.discard ? "discarded" : "done";
          } else {
            const n0 = got.length;
            const n = rb.consume();
            // Everything before the first busy record is consumed, in order.
            while (recs.length > 0 && recs[0]!.state !== "busy") {
              const r = recs.shift()!;
              if (r.state === "done") expected.push(r.data);
              cons = r.pos + r.len;
            }
            expect(n).toBe(got.length - n0);
            expect(got).toEqual(expected);
          }
        }
        rb.free();
      }),
      { numRuns: 120 },
    );
  });

  it("a wrapped record is contiguous for the program and in place at the start of the data area", () => {
    const { a, base, p, fd } = setup(4096);
    const rb = new RingBuffer(p, fd, () => 0);
    ringCommit(a, ringReserve(a, base, 4000), 0, false);
    expect(rb.consume()).toBe(1);
    const s = ringReserve(a, base, 200); // at 4008: 88 bytes before the end, the rest wraps
    expect(s).toBe(base + DATA_PAGE + 4016);
    const payload = new Uint8Array(200).map((_, i) => i);
    a.u8.set(payload, s);
    ringCommit(a, s, 0, false);
    const data = base + DATA_PAGE;
    expect(a.u8.slice(data, data + 120)).toEqual(payload.slice(80, 200));
    let seen: Uint8Array | undefined;
    const rb2 = new RingBuffer(p, fd, (d) => void (seen = d.slice()));
    expect(rb2.consume()).toBe(1);
    expect(seen).toEqual(payload);
    rb.free();
    rb2.free();
  });
});

// ---- the kernel as the oracle for attributes and the element commands ----

const mapsysSrc = fileURLToPath(new URL("../../../../test/kernel-diff/mapsys.c", import.meta.url));
function buildMapsys(): { bin?: string; why?: string } {
  const bin = join(mkdtempSync(join(tmpdir(), "bpfsim-rb-")), "mapsys");
  const cc = spawnSync("gcc", ["-O1", "-o", bin, mapsysSrc], { encoding: "utf8" });
  if (cc.error || cc.status !== 0) return { why: `gcc unavailable or failed: ${cc.error?.message ?? cc.stderr}` };
  const probe = spawnSync(bin, [], { input: "create 27 0 0 4096 0\n", encoding: "utf8" });
  if (probe.stdout.trim() !== "0") return { why: `bpf(BPF_MAP_CREATE) of a ring buffer refused (${probe.stdout.trim() || probe.stderr}); needs root` };
  return { bin };
}
const mapsys = buildMapsys();
if (!mapsys.bin) console.log(`ring buffer kernel-differential test skipped: ${mapsys.why}`);

describe.skipIf(!mapsys.bin)("RINGBUF against the kernel", () => {
  it("create attributes and element commands give the kernel's errno", () => {
    const script = [
      "create 27 0 0 4096 0", "lookup 0 - 0 0", "update 0 - - 0", "delete 0 -", "next 0 - 0", "lookup_and_delete 0 - 0 0",
      "lookup_batch 0 - 4 0 0 0 0", "create 27 4 0 4096 0", "create 27 0 4 4096 0", "create 27 0 0 4095 0", "create 27 0 0 12288 0",
      "create 27 0 0 2048 0", "create 27 0 0 4096 4", "create 27 0 0 4096 1", "create 27 0 0 4096 8", "create 27 0 0 0 0",
      "create 27 0 0 65536 128", "create 27 0 0 1048576 0",
    ];
    const real = spawnSync(mapsys.bin!, [], { input: script.join("\n") + "\n", encoding: "utf8" }).stdout.trim().split("\n");
    const k = Kernel.create({ ncpus: 2, size: 16 * MiB });
    expect(runOnSim(k.createProcess({ comm: "rb" }), script)).toEqual(real);
  });
});
