/**
 * What the verifier needs from the rest of the machine, and what it returns.
 * The loader builds a `VerifierEnv` for BPF_PROG_LOAD; tests and the CLI
 * build their own.
 */
import type { HelperProto } from "../helpers/proto.js";
import type { ProgTypeOps } from "../prog/prog-type.js";

/** The attributes of one map a program references. */
export interface MapInfo {
  readonly mapType: number;
  readonly keySize: number;
  readonly valueSize: number;
  readonly maxEntries: number;
  readonly mapFlags: number;
  /** Offset of the `struct bpf_spin_lock` in the value, or -1 if none. */
  readonly spinLockOff: number;
  /**
   * For BPF_MAP_TYPE_ARRAY_OF_MAPS / HASH_OF_MAPS: the inner map template
   * (Linux's inner_map_meta). A null-checked lookup result is a map pointer
   * with these attributes; without them such programs are rejected.
   */
  readonly innerMap?: MapInfo;
  /** Whether the map was created with BTF for its key and value (spin locks need it). */
  readonly btf?: boolean;
  /** The map's name (BPF_OBJ_NAME_LEN), for messages. */
  readonly name?: string;
  /** Shown in the log as `map[id:N]`. */
  readonly id?: number;
}

/** Input of `verify`. */
export interface VerifierEnv {
  readonly progType: number;
  readonly progTypeOps: ProgTypeOps;
  /**
   * The map referenced by a `lddw` with src_reg BPF_PSEUDO_MAP_FD (1) whose
   * imm64 is `imm64` (the map header offset after load-time rewriting).
   */
  maps(imm64: bigint, insnIdx: number): MapInfo | undefined;
  /**
   * For `lddw` with src_reg BPF_PSEUDO_MAP_VALUE (2): the map and the offset
   * into its value that `imm64` designates. Optional: without it such loads
   * are rejected.
   */
  mapValue?(imm64: bigint, insnIdx: number): { map: MapInfo; off: number } | undefined;
  helpers(id: number): HelperProto | undefined;
  /** CAP_BPF/CAP_SYS_ADMIN (true) or an unprivileged user with unprivileged_bpf_disabled=0. */
  readonly privileged: boolean;
  /** BPF_F_STRICT_ALIGNMENT. */
  readonly strictAlignment: boolean;
  /** 0, 1 or 2 (BPF_LOG_LEVEL1/2). */
  readonly logLevel: number;
  /**
   * Size of the user's log buffer in bytes; 0 means unlimited (the caller
   * truncates). A log that does not fit makes the result ENOSPC.
   */
  readonly logSize: number;
  /** BPF_LOG_FIXED: keep the beginning of a log that does not fit (default: its end, as Linux). */
  readonly logFixed?: boolean;
  /**
   * Whether BTF func_info came with the program. Linux requires it for
   * callbacks (`lddw` of a function, bpf_loop); objects built with -g have
   * it. Default true.
   */
  readonly hasFuncInfo?: boolean;
  /** Whether the program's license is GPL-compatible (gpl_only helpers). Default true. */
  readonly gplCompatible?: boolean;
}

/** What the verifier proved about one instruction, for the engines (JIT). */
export interface InsnFacts {
  /** A load or store at this instruction was proved in bounds on every path. */
  memInBounds?: boolean;
  /** Kinds of pointer the access went through on the explored paths ("stack", "map_value", "ctx", "pkt", "mem"). */
  ptrKinds?: string[];
  /** A helper call whose pointer argument r2 pointed at a constant stack key with this value (map lookups). */
  constMapKey?: bigint;
  /** A null check here is on a pointer the verifier knows may be null (kept by the JIT). */
  nullCheck?: boolean;
  /** The register compared/used here is a known constant on every path. */
  constValue?: bigint;
}

/** Output of `verify`. */
export interface VerifierResult {
  readonly ok: boolean;
  /** The log as Linux would write it into the user's buffer (possibly truncated). */
  readonly log: string;
  /**
   * Linux's log_true_size: bytes (with the NUL) the log needed at its
   * longest, which can exceed `log.length + 1` after level-1 rewinds. A
   * caller that truncates itself must return ENOSPC when this exceeds its
   * buffer. 0 without a log.
   */
  readonly logTrueSize: number;
  /** Index of the instruction the error is reported at. */
  readonly errorInsn?: number;
  /** 0 when accepted; EACCES/EINVAL/E2BIG/ENOSPC/EPERM as Linux returns. */
  readonly errno: number;
  /** The one-line reason (the error line of the log). */
  readonly message?: string;
  readonly processedInsns: number;
  readonly peakStates: number;
  readonly totalStates: number;
  readonly maxStatesPerInsn: number;
  /** Per instruction index; undefined where nothing was proved. */
  readonly facts: ReadonlyArray<InsnFacts | undefined>;
}
