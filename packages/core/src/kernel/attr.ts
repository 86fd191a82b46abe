/**
 * `union bpf_attr`, one TypeScript shape per command. The raw `bpf(cmd, attr)`
 * is typed by `BpfAttrMap`, so `bpf(BpfCmd.MapCreate, {...})` only accepts
 * map-create fields. Modules that add commands (program load, test run,
 * links) extend the map by declaration merging:
 *
 *   declare module "../kernel/attr.js" {
 *     interface BpfAttrMap { [BpfCmd.ProgLoad]: ProgLoadAttr }
 *   }
 *
 * User memory is a Uint8Array the caller owns. As in Linux, the kernel reads
 * keys and values from it and writes results into it; a buffer shorter than
 * the kernel needs is EFAULT (Linux would read or write past it). Scalar
 * outputs (`count`, `nextId`, `infoLen`) are written back into the attr
 * object, as Linux writes them into the user's `bpf_attr`.
 */
import { BpfCmd } from "../uapi.js";

/** BPF_MAP_CREATE. */
export interface MapCreateAttr {
  mapType: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  mapFlags?: number;
  innerMapFd?: number;
  numaNode?: number;
  /** Up to 15 characters of [A-Za-z0-9_.]; a Uint8Array is taken as the raw 16-byte field. */
  mapName?: string | Uint8Array;
  mapIfindex?: number;
  btfFd?: number;
  btfKeyTypeId?: number;
  btfValueTypeId?: number;
  btfVmlinuxValueTypeId?: number;
  mapExtra?: bigint;
  /**
   * bpfsim extension: offset of the value's `struct bpf_spin_lock`, which
   * Linux learns from BTF. The loader sets it from BTF; tests may set it directly.
   */
  spinLockOff?: number;
}

/** BPF_MAP_LOOKUP_ELEM, BPF_MAP_UPDATE_ELEM, BPF_MAP_DELETE_ELEM, BPF_MAP_LOOKUP_AND_DELETE_ELEM. */
export interface MapElemAttr {
  mapFd: number;
  key?: Uint8Array | null;
  /** Lookups write the value here; updates read it. */
  value?: Uint8Array | null;
  flags?: number;
}

/** BPF_MAP_GET_NEXT_KEY. */
export interface MapNextKeyAttr {
  mapFd: number;
  /** null or absent: the first key. */
  key?: Uint8Array | null;
  nextKey: Uint8Array;
}

/** BPF_MAP_*_BATCH (`attr->batch`). */
export interface MapBatchAttr {
  mapFd: number;
  inBatch?: Uint8Array | null;
  outBatch?: Uint8Array | null;
  keys?: Uint8Array | null;
  values?: Uint8Array | null;
  /** In: elements the buffers hold. Out: elements processed. */
  count: number;
  elemFlags?: number;
  flags?: number;
}

/** BPF_MAP_FREEZE. */
export interface MapFdAttr {
  mapFd: number;
}

/** BPF_OBJ_PIN, BPF_OBJ_GET. */
export interface ObjAttr {
  pathname: string;
  bpfFd?: number;
  fileFlags?: number;
  pathFd?: number;
}

/** BPF_MAP_GET_NEXT_ID, BPF_PROG_GET_NEXT_ID, BPF_LINK_GET_NEXT_ID. */
export interface GetNextIdAttr {
  startId: number;
  /** Out. */
  nextId?: number;
}

/** BPF_MAP_GET_FD_BY_ID, BPF_PROG_GET_FD_BY_ID, BPF_LINK_GET_FD_BY_ID. */
export interface GetFdByIdAttr {
  id: number;
  openFlags?: number;
}

/** BPF_OBJ_GET_INFO_BY_FD. */
export interface InfoAttr {
  bpfFd: number;
  /** Out: the info struct (e.g. `struct bpf_map_info`), `infoLen` bytes of it. */
  info: Uint8Array;
  /** In: buffer length the caller offers. Out: bytes written. */
  infoLen: number;
}

/** Attribute shape by command. Extended by other modules (see the file comment). */
export interface BpfAttrMap {
  [BpfCmd.MapCreate]: MapCreateAttr;
  [BpfCmd.MapLookupElem]: MapElemAttr;
  [BpfCmd.MapUpdateElem]: MapElemAttr;
  [BpfCmd.MapDeleteElem]: MapElemAttr;
  [BpfCmd.MapGetNextKey]: MapNextKeyAttr;
  [BpfCmd.MapLookupAndDeleteElem]: MapElemAttr;
  [BpfCmd.MapLookupBatch]: MapBatchAttr;
  [BpfCmd.MapLookupAndDeleteBatch]: MapBatchAttr;
  [BpfCmd.MapUpdateBatch]: MapBatchAttr;
  [BpfCmd.MapDeleteBatch]: MapBatchAttr;
  [BpfCmd.MapFreeze]: MapFdAttr;
  [BpfCmd.ObjPin]: ObjAttr;
  [BpfCmd.ObjGet]: ObjAttr;
  [BpfCmd.MapGetNextId]: GetNextIdAttr;
  [BpfCmd.ProgGetNextId]: GetNextIdAttr;
  [BpfCmd.LinkGetNextId]: GetNextIdAttr;
  [BpfCmd.MapGetFdById]: GetFdByIdAttr;
  [BpfCmd.ProgGetFdById]: GetFdByIdAttr;
  [BpfCmd.LinkGetFdById]: GetFdByIdAttr;
  [BpfCmd.ObjGetInfoByFd]: InfoAttr;
}

/** A command bpfsim has an attr shape for. */
export type KnownBpfCmd = keyof BpfAttrMap & BpfCmd;
