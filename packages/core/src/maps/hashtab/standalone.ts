/**
 * A hash-family map outside any kernel: a hand-written header over an arena,
 * for benchmarks and unit tests that exercise a map type on its own. The
 * kernel layer normally writes the header and owns the map's lifetime.
 *
 * Who may call: syscall-like setup code on any thread.
 */
import { BpfError } from "../../errno.js";
import type { ArenaApi } from "../../memory/arena-api.js";
import type { MapAttr, MapHeaderView, MapImpl, MapOps } from "../map-ops.js";
import { MAP_PRIV_WORDS } from "../map-ops.js";

export interface StandaloneMap {
  readonly header: MapHeaderView;
  readonly impl: MapImpl;
  /** Release the map's storage and its header block. */
  destroy(): void;
}

/** Check, allocate and open a map of `ops`; throws BpfError with Linux's errno. */
export function createStandaloneMap(ops: MapOps, arena: ArenaApi, attr: MapAttr, ncpus: number, owner = 1): StandaloneMap {
  const env = { arena, ncpus };
  const bad = ops.allocCheck(attr, env);
  if (bad < 0) throw new BpfError(-bad, "map attributes rejected");
  const headerOff = arena.alloc(MAP_PRIV_WORDS * 4, owner);
  if (headerOff < 0) throw new BpfError(-headerOff, "no arena for the map header");
  const header: MapHeaderView = {
    arena,
    headerOff,
    privOff: headerOff,
    id: 0,
    type: attr.mapType,
    keySize: attr.keySize,
    valueSize: attr.valueSize,
    maxEntries: attr.maxEntries,
    flags: attr.mapFlags,
    ncpus,
    spinLockOff: attr.spinLockOff ?? -1,
  };
  const err = ops.alloc(header, owner);
  if (err < 0) {
    arena.free(headerOff);
    throw new BpfError(-err, "map storage");
  }
  return {
    header,
    impl: ops.open(header),
    destroy() {
      ops.free(header);
      arena.free(headerOff);
    },
  };
}
