import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Arena } from "../memory/arena.js";
import { KERNEL_OWNER } from "../memory/arena-api.js";
import {
  EV_DATA_LEN,
  EV_HDR_BYTES,
  EV_HOOK,
  EV_REPEAT,
  EventKind,
  eventRingBytes,
  eventRingInit,
  ringClose,
  ringClosed,
  ringFill,
  ringPush,
  ringRelease,
  ringRoom,
  ringSlotOff,
} from "./event-ring.js";

function makeRing(capacity: number, slotBytes = 64) {
  const arena = Arena.create({ size: 1 << 20 });
  const off = arena.alloc(eventRingBytes(capacity, slotBytes), KERNEL_OWNER);
  eventRingInit(arena, off, capacity, slotBytes);
  return { arena, off };
}

describe("event ring", () => {
  it("rejects a capacity that is not a power of two and a too-small slot", () => {
    const arena = Arena.create({ size: 1 << 20 });
    const off = arena.alloc(4096, KERNEL_OWNER);
    expect(() => eventRingInit(arena, off, 3, 64)).toThrow(/EINVAL/);
    expect(() => eventRingInit(arena, off, 4, 36)).toThrow(/EINVAL/);
  });

  it("refuses a payload larger than a slot and pushes nothing", () => {
    const { arena, off } = makeRing(4, 48);
    expect(() => ringPush(arena, off, [{ hookId: 1, kind: EventKind.Packet, data: new Uint8Array(17) }])).toThrow(/E2BIG/);
    expect(ringFill(arena, off)).toBe(0);
  });

  // Model: a FIFO queue of bounded size. Pushes and takes interleave at random;
  // the ring must hand back exactly the events pushed, in order, never more
  // than its capacity.
  it("behaves as a bounded FIFO (model-based)", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 3 }).map((k) => 1 << k),
        fc.array(fc.oneof(fc.record({ push: fc.array(fc.nat(1000), { maxLength: 6 }) }), fc.record({ take: fc.nat(6) })), { maxLength: 40 }),
        (capacity, ops) => {
          const { arena, off } = makeRing(capacity);
          const model: number[] = [];
          let head = 0;
          for (const op of ops) {
            if ("push" in op) {
              const evs = op.push.map((h) => ({ hookId: h, kind: EventKind.Tick, repeat: 1 + (h % 3), data: new Uint8Array([h & 0xff]) }));
              const n = ringPush(arena, off, evs);
              expect(n).toBe(Math.min(evs.length, capacity - model.length));
              model.push(...op.push.slice(0, n));
            } else {
              const n = Math.min(op.take, ringFill(arena, off));
              for (let i = 0; i < n; i++) {
                const s = ringSlotOff(arena, off, head + i);
                const h = arena.u32[(s + EV_HOOK) >> 2]!;
                expect(h).toBe(model[i]);
                expect(arena.u32[(s + EV_REPEAT) >> 2]).toBe(1 + (h % 3));
                expect(arena.u32[(s + EV_DATA_LEN) >> 2]).toBe(1);
                expect(arena.u8[s + EV_HDR_BYTES]).toBe(h & 0xff);
              }
              ringRelease(arena, off, n);
              head += n;
              model.splice(0, n);
            }
            expect(ringFill(arena, off)).toBe(model.length);
            expect(ringRoom(arena, off)).toBe(capacity - model.length);
          }
        },
      ),
    );
  });

  it("close is visible to the consumer", () => {
    const { arena, off } = makeRing(2);
    expect(ringClosed(arena, off)).toBe(false);
    ringClose(arena, off);
    expect(ringClosed(arena, off)).toBe(true);
  });
});
