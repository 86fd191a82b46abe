import type { MapType, ProgType } from "@bpfsim/core";
import type { Btf } from "../btf/btf-types.js";
import type { BtfExtCoreRelo } from "../btf/parse-btf-ext.js";

/**
 * The plain-data description of an object file: what `openObject` returns and
 * what the load step turns into live maps and programs.
 *
 * Nothing here holds a file descriptor or a reference into a machine, so a
 * spec can be edited (change max_entries, drop a program, rewrite .rodata
 * before it is frozen) and copied with `copyCollectionSpec` freely.
 */

/** libbpf's pinning values (`__uint(pinning, LIBBPF_PIN_BY_NAME)`). */
export enum PinType {
  None = 0,
  ByName = 1,
}

/** Where a map definition came from. */
export type MapOrigin =
  | "btf" // struct in `.maps`
  | "legacy" // struct bpf_map_def in `maps`
  | "data" // .data, .data.*
  | "rodata" // .rodata, .rodata.*
  | "bss" // .bss, .bss.*
  | "kconfig"; // extern values libbpf fills from the kernel config

/** Initial contents the load step writes after creating the map. */
export type MapContent =
  /** A key/value pair (global data: key 0 and the section bytes). */
  | { kind: "value"; key: Uint8Array; value: Uint8Array }
  /** A prog-array slot: `index` gets the fd of program `program`. */
  | { kind: "program"; index: number; program: string }
  /** A map-in-map slot: `index` gets the fd of map `map`. */
  | { kind: "map"; index: number; map: string };

export interface MapSpec {
  /** The name given to the kernel (at most 15 characters, libbpf's spelling). */
  name: string;
  type: MapType;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  /** map_flags (BPF_F_*). */
  flags: number;
  numaNode: number;
  mapExtra: bigint;
  pinning: PinType;
  origin: MapOrigin;
  /** The ELF section that defined it (`.maps`, `maps`, `.data`, ...). */
  sectionName: string;
  /** BTF ids of the key and value types in the collection's BTF, 0 if none. */
  btfKeyTypeId: number;
  btfValueTypeId: number;
  /** Offset of the value's `struct bpf_spin_lock`, or -1. */
  spinLockOff: number;
  /** For array/hash of maps: the inner map's definition (a template). */
  innerMap?: MapSpec;
  contents: MapContent[];
  /** Freeze after writing `contents` (read-only globals). */
  freeze: boolean;
}

/**
 * An `lddw` that names a map: the load step sets `insns[insnIndex].imm` to
 * the map's fd. `src_reg` (BPF_PSEUDO_MAP_FD = 1 or BPF_PSEUDO_MAP_VALUE = 2)
 * and the second slot's imm (`offset`, for map values) are already in the
 * instructions; they are repeated here for tools.
 */
export interface MapRelocation {
  insnIndex: number;
  /** Key in `CollectionSpec.maps`. */
  map: string;
  kind: "fd" | "value";
  /** Byte offset into the value (global data); 0 for "fd". */
  offset: number;
}

/** An `lddw` or call naming an extern (`.kconfig`, `.ksyms`): not resolved yet. */
export interface ExternRelocation {
  insnIndex: number;
  symbol: string;
}

export interface FuncInfo {
  /** Instruction index within the program (after subprogram linking). */
  insnOff: number;
  typeId: number;
}

export interface LineInfo {
  insnOff: number;
  fileName: string;
  lineText: string;
  line: number;
  col: number;
}

export interface CoreRelo extends Omit<BtfExtCoreRelo, "insnOff"> {
  insnOff: number;
}

export interface ProgramSpec {
  /** The function's name (libbpf's program name). */
  name: string;
  sectionName: string;
  type: ProgType;
  /** expected_attach_type (an AttachType number, 0 when the name implies none). */
  expectedAttachType: number;
  /** Attach point from the section name: kprobe's function, tracepoint's `cat/name`... */
  attachTo: string;
  /** prog_flags the section name implies (BPF_F_SLEEPABLE, BPF_F_XDP_HAS_FRAGS). */
  flags: number;
  license: string;
  kernVersion: number;
  /** 8-byte instruction slots, little-endian, subprograms appended. */
  instructions: Uint8Array;
  relocations: MapRelocation[];
  externs: ExternRelocation[];
  /** Subprograms appended after the main body, with their first instruction. */
  subprograms: { name: string; insnOff: number }[];
  funcInfo: FuncInfo[];
  lineInfo: LineInfo[];
  /** Recorded CO-RE relocations; resolving them is a later step. */
  coreRelos: CoreRelo[];
}

export interface CollectionSpec {
  /** Object name (libbpf: file name up to the first '.'), used in global data map names. */
  name: string;
  maps: Record<string, MapSpec>;
  programs: Record<string, ProgramSpec>;
  license: string;
  /** The `version` section (kern_version), 0 if absent. */
  version: number;
  btf: Btf | undefined;
  /**
   * Extern symbols the object refers to, with the DATASEC naming them
   * (`.kconfig`, `.ksyms`). `.kconfig` ones have their `offset`/`size` in the
   * `.kconfig` map's value (-1/0 for others), where their values go.
   */
  externs: { name: string; section: string; offset: number; size: number }[];
}

/** A deep copy: edit one without touching the other. */
export function copyCollectionSpec(spec: CollectionSpec): CollectionSpec {
  return structuredClone(spec);
}

/** Number of instructions (8-byte slots) in a program. */
export function insnCount(prog: ProgramSpec): number {
  return prog.instructions.length / 8;
}
