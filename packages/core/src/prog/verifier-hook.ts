/**
 * The one place BPF_PROG_LOAD calls the verifier. Until a verifier
 * registers itself here, loads pass only the structural checks of
 * `check-insns.ts` (which then also refuse back-edges, so nothing that
 * could loop forever runs).
 *
 * Plugging the verifier in is one line (prog-cmds.ts does it with the
 * adapter in verifier-adapter.ts):
 *   setProgVerifier(linuxVerifier);
 */
import type { DecodedInsn } from "../insn/codec.js";
import type { MapHeaderView } from "../maps/map-ops.js";
import type { ProgTypeDef } from "./prog-type-def.js";
import type { VerifierLog } from "./verifier-log.js";

/** What the verifier gets: the program as the user wrote it, plus what PROG_LOAD resolved. */
export interface VerifyRequest {
  /** Decoded instructions, user form (map lddws still hold fds or fd_array indexes). */
  insns: readonly DecodedInsn[];
  /** Instruction slots. */
  len: number;
  /**
   * The instructions with map references resolved: lddw src 1 holds the
   * map's header offset, src 2 the value's address (the _IDX forms are
   * turned into these).
   */
  image: Uint8Array;
  type: ProgTypeDef;
  /** For each lddw slot that references a map: the map (header view), the immediate it now holds and, for value forms, the offset. */
  mapRefs: ReadonlyMap<number, { map: MapHeaderView; imm64: bigint; valueOff?: number }>;
  gplCompatible: boolean;
  privileged: boolean;
  progFlags: number;
  expectedAttachType: number;
  log: VerifierLog;
}

/** The verifier's answer: 0 and instructions processed, or -errno (log already written). */
export type VerifyResult = { err: 0; insnProcessed: number } | { err: number };

export type ProgVerifier = (req: VerifyRequest) => VerifyResult;

let verifier: ProgVerifier | undefined;

/** Installs the verifier that every later BPF_PROG_LOAD on this thread runs. */
export function setProgVerifier(v: ProgVerifier | undefined): void {
  verifier = v;
}

/** The installed verifier, if any. */
export function progVerifier(): ProgVerifier | undefined {
  return verifier;
}
