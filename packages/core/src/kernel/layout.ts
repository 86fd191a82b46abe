/**
 * Where kernel state lives in the arena. Everything a second thread needs to
 * rebuild the kernel is reachable from the root block at ROOT_OFF.
 *
 * Root block (i32 words from ROOT_OFF, inside the reserved 64 KiB):
 *
 *   r0  magic "BPFK"          r1  ncpus            r2  object table off
 *   r3  object table slots    r4  object lock      r5  next map id (cursor)
 *   r6  next prog id          r7  next link id     r8  process table off
 *   r9  process slots         r10 process lock     r11 next pid
 *   r12 bpffs lock            r13 bpffs head       r14 CPU stacks off
 *   r15 last error-free gen   r16..r31 spare
 *   r32.. EXT_SLOTS x [name hash, value]: roots other modules claim by name
 *
 * Object slot (OBJ_SLOT_BYTES, guarded by the object lock for kind/id/gen;
 * refcnt is an atomic counter):
 *
 *   +0 kind  +4 id  +8 refcnt  +12 gen  +16 data off (map/prog header)
 *   +20 uid (memlock user)  +24 usercnt  +28 spare
 *
 * Process slot (PROC_SLOT_BYTES; fd lock guards the fd table pointer and
 * entries):
 *
 *   +0 state  +4 pid  +8 uid  +12 fd lock  +16 fd capacity  +20 fd table off
 *   +24 open fds  +28 users (threads holding a handle; 1 = fds need no lock)
 *   +32 comm[16]  +48 in-flight flag of the single user's lock-free fd lookup  +52 spare
 *
 * Fd table entry (FD_ENTRY_BYTES): +0 object slot + 1 (0 = closed,
 * FD_OTHER = a non-bpf file such as stdin), +4 fmode (FMODE_CAN_READ|WRITE).
 *
 * Map header (MAP_HEADER_BYTES; all fields written before the map's id is
 * published and read-only afterwards, except `frozen` and `writeActive`):
 *
 *   w0 magic  w1 type  w2 key size  w3 value size  w4 max entries  w5 map flags
 *   w6 id  w7 ncpus  w8 spin lock off (i32)  w9 frozen  w10 object slot
 *   w11 mem usage  w12 memlock uid  w13 spare  w14 btf fd
 *   w15 btf key type  w16 btf value type  w17 numa node  w18 inner map off
 *   w19 freeze lock  w20-21 map_extra (u64)  w22 btf vmlinux value type
 *   w23 ifindex  w24-27 name[16]  w28 write-active count  w29-31 spare
 *   w32.. MAP_PRIV_WORDS private
 *
 * The write-active count is bumped by every syscall write; it sits in the
 * second cache line so that those writes do not evict the first line
 * (frozen flag), which every syscall reads.
 */
import { ROOT_OFF } from "../memory/arena-layout.js";
import { MAP_PRIV_WORDS } from "../maps/map-ops.js";

export const KERNEL_MAGIC = 0x4b465042; // "BPFK"

export const R_MAGIC = 0;
export const R_NCPUS = 1;
export const R_OBJ_TABLE = 2;
export const R_OBJ_SLOTS = 3;
export const R_OBJ_LOCK = 4;
/** Id cursors per kind: R_NEXT_ID + kind - 1. */
export const R_NEXT_ID = 5;
export const R_PROC_TABLE = 8;
export const R_PROC_SLOTS = 9;
export const R_PROC_LOCK = 10;
export const R_NEXT_PID = 11;
export const R_BPFFS_LOCK = 12;
export const R_BPFFS_HEAD = 13;
export const R_STACKS = 14;
export const R_EXT = 32;
export const EXT_SLOTS = 64;

/** Word index of root word `r`. */
export const rootW = (r: number): number => (ROOT_OFF >>> 2) + r;
/** Byte offset of root word `r` (for spin locks). */
export const rootOff = (r: number): number => ROOT_OFF + r * 4;

/** Object kinds, like the kernel's separate idr tables (map_idr, prog_idr, link_idr). */
export enum ObjKind {
  Free = 0,
  Map = 1,
  Prog = 2,
  Link = 3,
  /**
   * A perf event fd (perf_event_open): not a bpf object in Linux, but an fd
   * a perf event array stores, so it lives in the table to be counted and
   * released like one. 12 so its id cursor (R_NEXT_ID + kind - 1) is the
   * spare root word r16.
   */
  PerfEvent = 12,
}
export const OBJ_SLOT_BYTES = 32;
export const O_KIND = 0;
export const O_ID = 1;
export const O_REFCNT = 2;
export const O_GEN = 3;
export const O_DATA = 4;
export const O_UID = 5;
export const O_USERCNT = 6;

export const PROC_SLOT_BYTES = 64;
export const P_STATE = 0;
export const P_PID = 1;
export const P_UID = 2;
export const P_FD_LOCK = 3;
export const P_FD_CAP = 4;
export const P_FD_TABLE = 5;
export const P_OPEN = 6;
export const P_USERS = 7;
export const P_INFLIGHT = 12;
export const P_COMM = 8;

export const FD_ENTRY_BYTES = 8;
/** An fd that is open on something that is not a bpf object (stdin, stdout, stderr). */
export const FD_OTHER = 0xffffffff;
export const FMODE_CAN_READ = 1;
export const FMODE_CAN_WRITE = 2;

export const MAP_MAGIC = 0x4d465042; // "BPFM"
export const M_MAGIC = 0;
export const M_TYPE = 1;
export const M_KEY_SIZE = 2;
export const M_VALUE_SIZE = 3;
export const M_MAX_ENTRIES = 4;
export const M_FLAGS = 5;
export const M_ID = 6;
export const M_NCPUS = 7;
export const M_SPIN_LOCK_OFF = 8;
export const M_FROZEN = 9;
export const M_SLOT = 10;
export const M_MEM_USAGE = 11;
export const M_UID = 12;
export const M_WRITE_ACTIVE = 28;
export const M_BTF_FD = 14;
export const M_BTF_KEY = 15;
export const M_BTF_VALUE = 16;
export const M_NUMA = 17;
export const M_INNER = 18;
export const M_FREEZE_LOCK = 19;
export const M_EXTRA = 20;
export const M_BTF_VMLINUX_VALUE = 22;
export const M_IFINDEX = 23;
export const M_NAME = 24;
export const M_PRIV = 32;
export const MAP_HEADER_WORDS = M_PRIV + MAP_PRIV_WORDS;
export const MAP_HEADER_BYTES = MAP_HEADER_WORDS * 4;

/** Linux's INT_MAX: ids are allocated cyclically in [1, INT_MAX). */
export const ID_MAX = 0x7fffffff;
/** Default RLIMIT_NOFILE. */
export const NOFILE_MAX = 1024;
