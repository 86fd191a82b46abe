import { describe, expect, it } from "vitest";
import { Arena } from "../../memory/arena.js";
import { FreeList, SHARD_BYTES } from "./freelist.js";

describe("FreeList", () => {
  const arena = Arena.create({ size: 1 << 20 });

  it("hands accessors their shards in turn, from the last (no CPU's) down", () => {
    const off = arena.alloc(3 * SHARD_BYTES, 1);
    const fl = new FreeList(arena.i32, arena.u32, off, 3);
    // A second accessor of the same shards (another thread) continues the turn.
    const other = new FreeList(arena.i32, arena.u32, off, 3);
    expect([fl.takeTurn(), other.takeTurn(), fl.takeTurn(), other.takeTurn()]).toEqual([2, 1, 0, 2]);
  });

  it("keeps each shard on its own cache line, with the turn word outside every list", () => {
    expect(SHARD_BYTES).toBeGreaterThanOrEqual(64);
    const off = arena.alloc(3 * SHARD_BYTES, 1);
    const fl = new FreeList(arena.i32, arena.u32, off, 3);
    const pool = arena.alloc(6 * 32, 1);
    fl.populate(pool, 6, 32);
    fl.takeTurn();
    // FIFO per shard: elements come back in the order they were spread, then from other shards.
    const got: number[] = [];
    for (let e = fl.pop(0); e !== 0; e = fl.pop(0)) got.push(e);
    // populate spreads element i to shard i % 3; the turn word (shard 0, +12) did not disturb shard 0's list.
    expect(got).toEqual([0, 3, 1, 4, 2, 5].map((i) => pool + i * 32));
    expect([...fl.drain()]).toEqual([]);
  });
});
