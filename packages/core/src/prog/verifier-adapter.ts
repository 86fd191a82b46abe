/**
 * Connects BPF_PROG_LOAD's verifier hook to bpfsim's verifier
 * (packages/core/src/verifier): builds its `VerifierEnv` from what the load
 * resolved, and copies its log into the load's log. The log buffer rules
 * (truncation, ENOSPC, log_true_size) stay with `VerifierLog`, so the
 * verifier is asked for the whole text, and for the size it had at its
 * longest (level-1 logs shrink when the verifier rewinds), which decides
 * ENOSPC as in Linux: for an accepted program and a rejected one alike.
 *
 * Syscall context.
 */
import { verify, type MapInfo, type VerifierEnv } from "../verifier/index.js";
import { helperProto } from "../helpers/func-protos.js";
import { BPF_F_STRICT_ALIGNMENT } from "../uapi.js";
import { Errno } from "../errno.js";
import type { MapHeaderView } from "../maps/map-ops.js";
import { innerTemplate } from "../maps/map-in-map.js";
import type { ProgVerifier } from "./verifier-hook.js";

function mapInfo(m: MapHeaderView): MapInfo {
  const inner = innerTemplate(m); // map-in-map: what a null-checked lookup points at
  return {
    mapType: m.type, keySize: m.keySize, valueSize: m.valueSize, maxEntries: m.maxEntries, mapFlags: m.flags,
    spinLockOff: m.spinLockOff, id: m.id, ...(inner ? { innerMap: inner } : {}),
  };
}

/** The verifier behind the hook. */
export const linuxVerifier: ProgVerifier = (req) => {
  const byImm = new Map<bigint, MapInfo>();
  const values = new Map<bigint, { map: MapInfo; off: number }>();
  for (const r of req.mapRefs.values()) {
    if (r.valueOff === undefined) byImm.set(r.imm64, mapInfo(r.map));
    else values.set(r.imm64, { map: mapInfo(r.map), off: r.valueOff });
  }
  const env: VerifierEnv = {
    progType: req.type.progType,
    progTypeOps: { ...req.type, helperAllowed: (id: number) => req.type.helperAllowed(id, req.privileged) },
    maps: (imm) => byImm.get(imm),
    mapValue: (imm) => values.get(imm),
    helpers: (id) => helperProto(id),
    privileged: req.privileged,
    strictAlignment: (req.progFlags & BPF_F_STRICT_ALIGNMENT) !== 0,
    logLevel: req.log.level & 3,
    logSize: 0,
    gplCompatible: req.gplCompatible,
  };
  const r = verify(req.image, env);
  if (req.log.level) {
    req.log.write(r.log);
    req.log.noteTrueSize(r.logTrueSize);
  }
  // Linux: a log that outgrew the buffer replaces the verifier's error with ENOSPC.
  if (!r.ok && req.log.overflowed) return { err: -Errno.ENOSPC };
  return r.ok ? { err: 0, insnProcessed: r.processedInsns } : { err: -r.errno };
};
