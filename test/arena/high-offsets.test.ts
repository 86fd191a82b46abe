/**
 * Arena offsets above 2 GiB. The arena may be as large as 4 GiB - 64 KiB, so
 * offsets are u32: a word index computed with a signed shift (`off >> 2`)
 * turns negative past 2 GiB and reads or writes nothing (or the wrong word).
 * This fills the lower 2 GiB with one block, so the maps, their headers and
 * the perf ring created afterwards all live above it, then drives them from
 * user space and from a program on the interpreter.
 *
 * Needs a 3 GiB shared memory; skipped with the reason printed when the host
 * refuses one.
 */
import { describe, expect, it } from "vitest";
import {
  BpfCmd, Kernel, KERNEL_OWNER, MapType, PERF_COUNT_SW_BPF_OUTPUT, PERF_RECORD_SAMPLE, PERF_SAMPLE_RAW, PERF_TYPE_SOFTWARE,
  ProgType, perfEventOpenFd, perfRingConsume, setProgEngine, type PerfRecord,
} from "@bpfsim/core";
import { assemble } from "@bpfsim/loader";

const GiB = 1024 * 1024 * 1024;
const NCPUS = 2;

let kernel: Kernel | undefined;
let why = "";
try {
  kernel = Kernel.create({ ncpus: NCPUS, size: 3 * GiB });
} catch (e) {
  why = (e as Error).message;
}
if (!kernel) console.log(`arena offsets above 2 GiB: skipped, the host cannot reserve a 3 GiB shared memory (${why})`);

const u32 = (n: number): Uint8Array => new Uint8Array(new Uint32Array([n]).buffer);
const u64 = (n: bigint): Uint8Array => new Uint8Array(new BigUint64Array([n]).buffer);
const readU64 = (b: Uint8Array, off = 0): bigint => new DataView(b.buffer, b.byteOffset).getBigUint64(off, true);

describe.skipIf(!kernel)("arena offsets above 2 GiB", () => {
  const k = kernel!;
  const p = k.createProcess();
  // Everything allocated from here on lands above 2 GiB.
  const filler = k ? k.arena.alloc(2 * GiB + 64 * 1024 * 1024, KERNEL_OWNER) : -1;
  const hash = p.mapCreate({ mapType: MapType.Hash, keySize: 4, valueSize: 8, maxEntries: 64 });
  const arr = p.mapCreate({ mapType: MapType.Array, keySize: 4, valueSize: 8, maxEntries: 4 });
  const pcpuHash = p.mapCreate({ mapType: MapType.PercpuHash, keySize: 4, valueSize: 8, maxEntries: 16 });
  const pcpuArr = p.mapCreate({ mapType: MapType.PercpuArray, keySize: 4, valueSize: 8, maxEntries: 4 });
  const lru = p.mapCreate({ mapType: MapType.LruHash, keySize: 4, valueSize: 8, maxEntries: 16 });

  it("the maps' storage is above 2 GiB", () => {
    expect(filler).toBeGreaterThan(0);
    for (const fd of [hash, arr, pcpuHash, pcpuArr, lru]) {
      const slot = p.fds.get(fd);
      try {
        expect(k.objects.dataOf(slot) >>> 0).toBeGreaterThan(2 * GiB);
      } finally {
        k.objects.put(slot);
      }
    }
  });

  it("syscalls: update, lookup, get_next_key, delete", () => {
    for (const fd of [hash, lru]) {
      for (let i = 0; i < 10; i++) p.mapUpdate(fd, u32(i), u64(BigInt(i) * 1000n + 7n));
      for (let i = 0; i < 10; i++) expect(readU64(p.mapLookup(fd, u32(i))!)).toBe(BigInt(i) * 1000n + 7n);
      const keys: number[] = [];
      let prev: Uint8Array | null = null;
      for (;;) {
        const next = new Uint8Array(4);
        if (p.bpf(BpfCmd.MapGetNextKey, { mapFd: fd, key: prev, nextKey: next }) !== 0) break;
        keys.push(new DataView(next.buffer).getUint32(0, true));
        prev = next;
      }
      expect(keys.sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
      p.mapDelete(fd, u32(3));
      expect(p.mapLookup(fd, u32(3))).toBeUndefined();
    }
    p.mapUpdate(arr, u32(0), u64(11n));
    p.mapUpdate(arr, u32(3), u64(33n));
    expect(readU64(p.mapLookup(arr, u32(3))!)).toBe(33n);
    // Per-CPU maps: user space sees one 8-byte slot per CPU.
    const both = new Uint8Array(8 * NCPUS);
    both.set(u64(100n), 0);
    both.set(u64(200n), 8);
    p.mapUpdate(pcpuHash, u32(0), both);
    p.mapUpdate(pcpuArr, u32(0), both);
    for (const fd of [pcpuHash, pcpuArr]) {
      const v = p.mapLookup(fd, u32(0))!;
      expect([readU64(v, 0), readU64(v, 8)]).toEqual([100n, 200n]);
    }
  });

  // Both engines: the JIT's inline map lookups compute arena word indexes too.
  it.each(["interpreter", "jit"] as const)("a program on the %s looks up and updates them; the perf ring carries its sample", (engine) => {
    setProgEngine(k, engine);
    const before = (fd: number) => readU64(p.mapLookup(fd, u32(0))!);
    const sum2 = (fd: number) => {
      const v = p.mapLookup(fd, u32(0))!;
      return readU64(v, 0) + readU64(v, 8);
    };
    const [h0, a0, l0, ph0, pa0] = [before(hash), before(arr), before(lru), sum2(pcpuHash), sum2(pcpuArr)];
    const evArr = p.mapCreate({ mapType: MapType.PerfEventArray, keySize: 4, valueSize: 4, maxEntries: NCPUS });
    const attr = { type: PERF_TYPE_SOFTWARE, config: PERF_COUNT_SW_BPF_OUTPUT, sampleType: PERF_SAMPLE_RAW };
    const evs = Array.from({ length: NCPUS }, (_, cpu) => perfEventOpenFd(p, attr, -1, cpu, 1));
    for (const ev of evs) expect(ev.evOff >>> 0).toBeGreaterThan(2 * GiB);
    evs.forEach((ev, cpu) => p.mapUpdate(evArr, u32(cpu), u32(ev.fd)));
    const inc = (fd: number) => `
lddw %r1, map_fd ${fd}
mov %r2, %r10
add %r2, -4
call 1
jeq %r0, 0, fail
ldxdw %r1, [%r0]
add %r1, 1
stxdw [%r0], %r1
`;
    const insns = assemble(`
mov %r6, %r1
stw [%r10-4], 0
${inc(hash)}
mov %r7, %r0
${inc(arr)}
${inc(pcpuHash)}
${inc(pcpuArr)}
${inc(lru)}
# hash[5] = 77 through the helper
stw [%r10-4], 5
stdw [%r10-16], 77
lddw %r1, map_fd ${hash}
mov %r2, %r10
add %r2, -4
mov %r3, %r10
add %r3, -16
mov %r4, 0
call 2
jne %r0, 0, fail
# the hash value's address as a sample on this CPU's perf ring
stxdw [%r10-24], %r7
mov %r1, %r6
lddw %r2, map_fd ${evArr}
lddw %r3, 0xffffffff
mov %r4, %r10
add %r4, -24
mov %r5, 8
call 25
jne %r0, 0, fail
mov %r0, 2
exit
fail:
mov %r0, 1
exit
`);
    const pfd = p.bpf(BpfCmd.ProgLoad, { progType: ProgType.Xdp, insns, license: "GPL" });
    expect(pfd).toBeGreaterThan(0);
    const a = { progFd: pfd, dataIn: new Uint8Array(64), repeat: 3, retval: -1 };
    expect(p.bpf(BpfCmd.ProgTestRun, a)).toBe(0);
    expect(a.retval).toBe(2);
    expect(before(hash)).toBe(h0 + 3n);
    expect(before(arr)).toBe(a0 + 3n);
    expect(before(lru)).toBe(l0 + 3n);
    expect(readU64(p.mapLookup(hash, u32(5))!)).toBe(77n);
    expect(sum2(pcpuHash)).toBe(ph0 + 3n);
    expect(sum2(pcpuArr)).toBe(pa0 + 3n);
    const samples: bigint[] = [];
    for (const ev of evs) {
      perfRingConsume(k.arena, ev.evOff, (r: PerfRecord) => {
        if (r.type === PERF_RECORD_SAMPLE && "data" in r) samples.push(readU64(r.data));
      });
    }
    expect(samples).toHaveLength(3);
    for (const s of samples) expect(s).toBeGreaterThan(BigInt(2 * GiB));
  });
});
