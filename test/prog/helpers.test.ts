/**
 * Helper implementations on bpfsim, through real programs and
 * BPF_PROG_TEST_RUN: trace_printk (trace_pipe line format, the kernel's
 * limited printf and its -EINVAL cases), snprintf, task and time helpers,
 * map helpers, spin locks.
 */
import { describe, expect, it } from "vitest";
import {
  BpfCmd, Kernel, MapType, ProgType, bprintf, formatTraceLine, setProgEngine, tracePipe, type Insn, type Process,
} from "@bpfsim/core";
import { insn } from "@bpfsim/core";
import { addi, call, exit, jeqi, ldImm64, ldMap, ldx, mov, movr, prog, st, stx } from "./insns.js";
import { setProgVerifier } from "@bpfsim/core";

// These programs reach helper error paths the verifier exists to rule out (formats on the stack
// instead of read-only maps, bad flags, unchecked lengths): run them with the structural checks only.
setProgVerifier(undefined);

/** Stores `s` (NUL-padded to a multiple of 8) at r10 - off, 8 bytes at a time through r9. */
function strOnStack(s: string, off: number): Insn[] {
  const bytes = new Uint8Array(Math.ceil((s.length + 1) / 8) * 8);
  for (let i = 0; i < s.length; i++) bytes[i] = s.charCodeAt(i);
  const dv = new DataView(bytes.buffer);
  const out: Insn[] = [];
  for (let i = 0; i < bytes.length; i += 8) {
    out.push(ldImm64(9, dv.getInt32(i, true), dv.getInt32(i + 4, true)), stx(8, 10, 9, -off + i));
  }
  return out;
}

function machine(): { k: Kernel; p: Process; run: (type: number, insns: Insn[], maps?: number[]) => number } {
  const k = Kernel.create({ ncpus: 4, size: 64 << 20 });
  setProgEngine(k, "interpreter");
  const p = k.createProcess({ comm: "helpers-test" });
  const run = (type: number, insns: Insn[]): number => {
    const fd = p.bpf(BpfCmd.ProgLoad, { progType: type, insns: prog(...insns), license: "GPL" });
    expect(fd).toBeGreaterThan(0);
    const a = { progFd: fd, ctxIn: new Uint8Array(16), retval: 0 };
    expect(p.bpf(BpfCmd.ProgTestRun, a)).toBe(0);
    p.close(fd);
    return a.retval;
  };
  return { k, p, run };
}

const RAW = ProgType.RawTracepoint;

/** bpf_trace_printk(fmt at fp-32, len, 7, -3, 0xbeef). */
const printk = (fmt: string) => [
  ...strOnStack(fmt, 32), movr(1, 10), addi(1, -32), mov(2, fmt.length + 1), mov(3, 7), mov(4, -3), mov(5, 0xbeef), call(6), exit(),
];

describe("bpf_trace_printk", () => {
  it("writes a trace_pipe line with the kernel's formatting", () => {
    const { k, run } = machine();
    const n = run(RAW, printk("a=%d b=%ld c=%x\n"));
    const recs = tracePipe(k).drainRecords();
    expect(recs).toHaveLength(1);
    expect(recs[0]!.msg).toBe("a=7 b=-3 c=beef\n");
    expect(n).toBe("a=7 b=-3 c=beef\n".length);
    const line = formatTraceLine(recs[0]!);
    expect(line).toMatch(/^ +helpers-test-\d+ +\[000\] d\.\.31 +\d+\.\d{6}: bpf_trace_printk: a=7 b=-3 c=beef\n$/);
  });
  it("narrows %d and %u to 32 bits and %lu/%llx to 64", () => {
    const { k, run } = machine();
    run(RAW, printk("%u %lu %llx"));
    expect(tracePipe(k).drainRecords()[0]!.msg).toBe("7 18446744073709551613 beef");
  });
  it.each(["%q", "%d %d %d %d", "%ls", "\x01"])("rejects %j with -EINVAL and writes nothing", (fmt) => {
    const { k, run } = machine();
    expect(run(RAW, printk(fmt))).toBe(-22 >>> 0);
    expect(tracePipe(k).drainRecords()).toHaveLength(0);
  });
  it("rejects a format that is not NUL-terminated within fmt_size", () => {
    const { run } = machine();
    const insns = printk("abcdefgh");
    insns[insns.length - 6] = mov(2, 4); // fmt_size = 4: no NUL inside
    expect(run(RAW, insns)).toBe(-22 >>> 0);
  });
});

describe("bprintf", () => {
  const { k } = machine();
  it("widths, flags, %c, %%, %p and %s", () => {
    const s = k.arena.alloc(16, 0);
    k.arena.u8.set([104, 105, 0], s);
    expect(bprintf(k.arena, "[%5d|%-4u|%05x|%c|%%|%s|%p]", [42n, 7n, 0xabn, 65n, BigInt(s), 0x10n], 12)).toBe(
      `[   42|7   |000ab|A|%|hi|${"0".repeat(14)}10]`,
    );
  });
  it("prints an unreadable %s as empty", () => {
    expect(bprintf(k.arena, "<%s>", [8n], 12)).toBe("<>");
    const s = k.arena.alloc(8, 0);
    k.arena.u8.set([111, 107, 0], s);
    expect(bprintf(k.arena, "<%s>", [BigInt(s) + (1n << 32n)], 12)).toBe("<>"); // not an arena address
  });
});

describe("bpf_snprintf", () => {
  it("formats u64 data into a buffer and returns the length with the NUL", () => {
    const { run, k } = machine();
    const fmt = "x=%d y=%s";
    const insns = [
      ...strOnStack(fmt, 64),
      ...strOnStack("ok", 80),
      st(8, 10, -96, 12), movr(9, 10), addi(9, -80), stx(8, 10, 9, -88), // data[] = { 12, &"ok" }
      movr(1, 10), addi(1, -48), mov(2, 16), movr(3, 10), addi(3, -64), movr(4, 10), addi(4, -96), mov(5, 16), call(165),
      movr(6, 0), movr(1, 10), addi(1, -48), mov(2, 16), mov(3, 0), mov(4, 0), mov(5, 0), call(6), movr(0, 6), exit(),
    ];
    // Print the snprintf output back through trace_printk ("%"-free, so it is its own format).
    expect(run(RAW, insns)).toBe("x=12 y=ok".length + 1);
    expect(tracePipe(k).drainRecords()[0]!.msg).toBe("x=12 y=ok");
  });
  it("wants exactly as many u64s as conversions", () => {
    const { run } = machine();
    const insns = [
      ...strOnStack("%d %d", 64), st(8, 10, -96, 1),
      movr(1, 10), addi(1, -48), mov(2, 16), movr(3, 10), addi(3, -64), movr(4, 10), addi(4, -96), mov(5, 8), call(165), exit(),
    ];
    expect(run(RAW, insns)).toBe(-22 >>> 0);
  });
});

describe("task and time helpers", () => {
  it("get_current_pid_tgid, uid_gid and comm describe the calling process", () => {
    const { p, run } = machine();
    expect(run(RAW, [call(14), exit()])).toBe(p.pid);
    expect(run(RAW, [call(15), exit()])).toBe(p.uid);
    const comm = [movr(1, 10), addi(1, -16), mov(2, 16), call(16), ldx(8, 0, 10, -16), exit()];
    expect(run(RAW, comm)).toBe(Buffer.from("help").readUInt32LE(0));
  });
  it("get_current_comm truncates to the buffer and NUL-terminates", () => {
    const { run } = machine();
    const comm = [st(8, 10, -16, -1), movr(1, 10), addi(1, -16), mov(2, 3), call(16), ldx(4, 0, 10, -16), exit()];
    expect(run(RAW, comm)).toBe(Buffer.from([104, 101, 0, 0xff]).readUInt32LE(0));
  });
  it("ktime_get_ns never goes back; jiffies64 starts 5 minutes before a 32-bit wrap; numa node 0", () => {
    const { run } = machine();
    expect(run(RAW, [call(5), movr(6, 0), call(5), movr(7, 0), mov(0, 1), insn(0x2d, 6, 7, 1, 0), exit(), mov(0, 0), exit()])).toBe(1);
    expect(run(RAW, [call(118), insn(0x77, 0, 0, 0, 20), exit()])).toBeGreaterThan(4000);
    expect(run(RAW, [call(42), exit()])).toBe(0);
  });
  it("get_prandom_u32 gives different values", () => {
    const { run } = machine();
    expect(run(RAW, [call(7), movr(6, 0), call(7), mov(1, 1), insn(0x5d, 0, 6, 1, 0), mov(1, 0), movr(0, 1), exit()])).toBe(1);
  });
});

describe("map helpers", () => {
  it("lookup, update (flags), delete and percpu lookup on a hash map", () => {
    const { p, run } = machine();
    expect(p.bpf(BpfCmd.MapCreate, { mapType: MapType.Hash, keySize: 4, valueSize: 8, maxEntries: 4 })).toBe(3);
    const key = [st(4, 10, -4, 1), movr(2, 10), addi(2, -4)];
    const update = (flags: number) => [...key, st(8, 10, -16, 99), ldMap(1, 3), movr(3, 10), addi(3, -16), mov(4, flags), call(2), exit()];
    expect(run(RAW, update(2))).toBe(-2 >>> 0); // BPF_EXIST on a missing key: -ENOENT
    expect(run(RAW, update(1))).toBe(0); // BPF_NOEXIST
    expect(run(RAW, update(1))).toBe(-17 >>> 0); // -EEXIST
    expect(run(RAW, [...key, ldMap(1, 3), call(1), jeqi(0, 0, 2), ldx(8, 0, 0, 0), exit(), mov(0, 12345), exit()])).toBe(99);
    expect(run(RAW, [...key, ldMap(1, 3), call(3), exit()])).toBe(0);
    expect(run(RAW, [...key, ldMap(1, 3), call(3), exit()])).toBe(-2 >>> 0);
  });
  it("map_lookup_percpu_elem: a CPU past the possible ones is NULL", () => {
    const { p, run } = machine();
    expect(p.bpf(BpfCmd.MapCreate, { mapType: MapType.PercpuArray, keySize: 4, valueSize: 8, maxEntries: 1 })).toBe(3);
    const look = (cpu: number) => [st(4, 10, -4, 0), ldMap(1, 3), movr(2, 10), addi(2, -4), mov(3, cpu), call(195), jeqi(0, 0, 2), mov(0, 1), exit(), mov(0, 0), exit()];
    expect(run(RAW, look(3))).toBe(1);
    expect(run(RAW, look(4))).toBe(0);
  });
  it("spin_lock / spin_unlock leave the lock word free", () => {
    const { p, run } = machine();
    const fd = p.bpf(BpfCmd.MapCreate, { mapType: MapType.Array, keySize: 4, valueSize: 8, maxEntries: 1, spinLockOff: 0 });
    expect(fd).toBe(3);
    const insns = [
      st(4, 10, -4, 0), ldMap(1, 3), movr(2, 10), addi(2, -4), call(1), jeqi(0, 0, 9),
      movr(6, 0), movr(1, 6), call(93), ldx(4, 7, 6, 0), movr(1, 6), call(94), ldx(4, 0, 6, 0), insn(0x0f, 0, 7, 0, 0), exit(),
      mov(0, -1), exit(),
    ];
    expect(run(RAW, insns)).toBe(1); // held (1) while locked, 0 after
  });
});
