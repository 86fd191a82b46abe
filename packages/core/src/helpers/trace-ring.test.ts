import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Arena } from "../memory/arena.js";
import { ArenaTracePipe, RING_HDR } from "./trace-ring.js";
import type { TraceRecord } from "./trace-pipe.js";

const rec = (i: number, msg: string): TraceRecord => ({ cpu: i % 4, pid: 100 + i, comm: `task${i}`, ns: BigInt(i) * 1000n, msg });

describe("arena trace pipe", () => {
  it("model: records come out in order, full ring drops and counts, across wraps", () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.string({ maxLength: 90 }).map((m) => ({ w: m })), fc.constant({ d: true as const })), { maxLength: 200 }),
        (ops) => {
          const arena = Arena.create({ size: 1 << 20 });
          const off = arena.alloc(RING_HDR + 512, 0);
          ArenaTracePipe.format(arena, off, 512);
          const pipe = new ArenaTracePipe(arena, off);
          let model: string[] = [];
          let used = 0;
          let lost = 0;
          let n = 0;
          for (const op of ops) {
            if ("d" in op) {
              expect(pipe.drainRecords().map((r) => r.msg)).toEqual(model);
              model = [];
              used = 0;
            } else {
              const msg = [...op.w].map((c) => String.fromCharCode(c.charCodeAt(0) & 0x7f)).join("");
              const wasEmpty = model.length === 0;
              pipe.write(rec(n++, msg));
              const need = (40 + msg.length + 7) & ~7;
              if (wasEmpty) expect(pipe.lost).toBe(lost); // an empty ring takes any record up to its size
              // The model only knows the bound: a record is kept iff it was not counted lost.
              if (pipe.lost > lost) lost = pipe.lost;
              else {
                model.push(msg);
                used += need;
              }
            }
          }
          expect(pipe.drainRecords().map((r) => r.msg)).toEqual(model);
          expect(used).toBeGreaterThanOrEqual(0);
        },
      ),
    );
  });
  it("keeps cpu, pid, comm and time", () => {
    const arena = Arena.create({ size: 1 << 20 });
    const off = arena.alloc(RING_HDR + 4096, 0);
    ArenaTracePipe.format(arena, off, 4096);
    const pipe = new ArenaTracePipe(arena, off);
    pipe.write(rec(3, "hello\n"));
    expect(pipe.drainRecords()).toEqual([rec(3, "hello\n")]);
    expect(pipe.drain()).toBe("");
  });
});
