import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Arena } from "../memory/arena.js";
import { KERNEL_OWNER } from "../memory/arena-api.js";
import { Errno } from "../errno.js";
import {
  PERF_COUNT_SW_BPF_OUTPUT,
  PERF_RECORD_LOST,
  PERF_RECORD_SAMPLE,
  PERF_SAMPLE_RAW,
  PERF_TYPE_SOFTWARE,
  perfEventOpen,
  perfEventStats,
} from "./perf-event.js";
import { perfOutput, perfRingConsume, sampleRecordBytes, type PerfRecord } from "./perf-ring.js";

const attr = { type: PERF_TYPE_SOFTWARE, config: PERF_COUNT_SW_BPF_OUTPUT, sampleType: PERF_SAMPLE_RAW };

describe("perf ring", () => {
  it("lays a raw sample out as Linux does", () => {
    const arena = Arena.create({ size: 1 << 20 });
    const ev = perfEventOpen(arena, attr, 0, 1, 1);
    const src = arena.alloc(16, KERNEL_OWNER);
    arena.u8.set([1, 2, 3, 4, 5], src);
    expect(perfOutput(arena, ev, src, 5)).toBe(0);
    const ring = arena.u32[(ev + 28) >> 2]!;
    const data = ring + 4096;
    // header: type 9, misc 1 (kernel), size 8 + round_up(4 + 5, 8) = 24
    expect(arena.u32[data >> 2]).toBe(PERF_RECORD_SAMPLE);
    expect(arena.dv.getUint16(data + 4, true)).toBe(1);
    expect(arena.dv.getUint16(data + 6, true)).toBe(24);
    expect(arena.u32[(data + 8) >> 2]).toBe(12); // raw_size includes the padding
    expect(arena.dv.getBigUint64(ring + 1024, true)).toBe(24n); // data_head
    expect(arena.dv.getBigUint64(ring + 1040, true)).toBe(4096n); // data_offset
    expect(arena.dv.getBigUint64(ring + 1048, true)).toBe(4096n); // data_size
  });

  it("refuses a bad page count or cpu", () => {
    const arena = Arena.create({ size: 1 << 20 });
    expect(() => perfEventOpen(arena, attr, 0, 1, 3)).toThrow(/EINVAL/);
    expect(() => perfEventOpen(arena, attr, 2, 2, 1)).toThrow(/EINVAL/);
  });

  // Produce samples of random sizes, consume at random points: every sample is
  // either received (in order, intact) or counted in a LOST record, and the
  // producer saw -ENOSPC exactly for the lost ones.
  it("received + lost = produced, in order, across wrap-around", () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.record({ out: fc.integer({ min: 0, max: 700 }) }), fc.constant({ consume: true })), { maxLength: 80 }),
        (ops) => {
          const arena = Arena.create({ size: 1 << 20 });
          const ev = perfEventOpen(arena, attr, 0, 1, 1);
          const src = arena.alloc(1024, KERNEL_OWNER);
          let seq = 0;
          const accepted: number[] = [];
          let refused = 0;
          const got: number[] = [];
          let lost = 0n;
          const onRecord = (r: PerfRecord) => {
            if (r.type === PERF_RECORD_SAMPLE && "data" in r) {
              expect(r.data.length).toBe(sampleRecordBytes(r.data.length > 0 ? r.data.length : 0) - 12);
              got.push(r.data.length >= 4 ? new DataView(r.data.buffer, r.data.byteOffset).getUint32(0, true) : -1);
            } else if (r.type === PERF_RECORD_LOST && "lost" in r) {
              lost += r.lost;
            }
          };
          for (const op of ops) {
            if ("out" in op) {
              const len = Math.max(4, op.out);
              arena.dv.setUint32(src, seq, true);
              const rc = perfOutput(arena, ev, src, len);
              if (rc === 0) accepted.push(seq);
              else {
                expect(rc).toBe(-Errno.ENOSPC);
                refused++;
              }
              seq++;
            } else perfRingConsume(arena, ev, onRecord);
          }
          perfRingConsume(arena, ev, onRecord);
          // A pending LOST record is only written with the next sample that fits.
          const pending = arena.i64[(ev + 48) >> 3]!;
          expect(got).toEqual(accepted);
          expect(lost + pending).toBe(BigInt(refused));
          const st = perfEventStats(arena, ev);
          expect(st.samples).toBe(BigInt(accepted.length));
          expect(st.lost).toBe(BigInt(refused));
        },
      ),
    );
  });
});
