/**
 * Where the arena keeps its own bookkeeping: fixed offsets inside the first
 * 64 KiB (ARENA_RESERVED), which the allocator never hands out.
 *
 *   0x0000  arena header (16 words)
 *           w0 magic "BPFA"  w1 layout version  w2 size in bytes
 *           w3 bump: first never-carved byte    w4 large-list lock
 *           w5 large free-list head (block off, 0 = empty)
 *           w6 bytes handed out (block bytes, headers included)
 *           w7 blocks handed out   w8 default memlock limit in pages
 *           w9 high-water mark: bytes at or above it were never handed out (still zero)
 *   0x0040  size-class table: NCLASSES x [lock word, free-list head]
 *   0x0400  owner table: OWNER_SLOTS x [owner + 1, bytes, blocks, pad]
 *   0x4400  memlock table: USER_SLOTS x [uid + 1, limit pages, charged pages, pad]
 *   0x8000  kernel roots: ROOT_BYTES the kernel layer lays out itself
 *   0x10000 first allocatable byte
 *
 * Every block starts with a 16-byte header so that `free(off)` can find its
 * class and owner, and so user offsets are 16-aligned:
 *
 *   block+0  state: ALLOC_TAG | class, or FREE_TAG | class (class 0xff = large)
 *   block+4  block bytes (header included)
 *   block+8  owner
 *   block+12 next free block (free lists only)
 *   block+16 user bytes ...
 *
 * All sizes fit in u32: the arena is at most 4 GiB - 64 KiB.
 */

export const ARENA_MAGIC = 0x41465042; // "BPFA" little-endian
export const ARENA_VERSION = 1;

/** Word indexes (i32) of the arena header. */
export const H_MAGIC = 0;
export const H_VERSION = 1;
export const H_SIZE = 2;
export const H_BUMP = 3;
export const H_LARGE_LOCK = 4;
export const H_LARGE_HEAD = 5;
export const H_BYTES = 6;
export const H_BLOCKS = 7;
export const H_DEFAULT_MEMLOCK = 8;
export const H_HWM = 9;

/** Byte offset of the class table: [lock, head] per class. */
export const CLASS_TABLE_OFF = 0x40;

/**
 * Block sizes (header included) of the small classes. Roughly 1.5x apart so
 * internal waste stays under a third; a class is refilled by carving one
 * CHUNK_BYTES chunk from the large allocator.
 */
export const CLASS_SIZES: readonly number[] = [
  32, 48, 64, 96, 128, 192, 256, 384, 512, 768, 1024, 1536, 2048, 3072, 4096, 6144, 8192, 12288,
  16384, 24576, 32768,
];
export const NCLASSES = CLASS_SIZES.length;
export const CHUNK_BYTES = 64 * 1024;
/** Large blocks are multiples of this. */
export const LARGE_GRAIN = 4096;
export const LARGE_CLASS = 0xff;

export const BLOCK_HEADER = 16;
export const ALLOC_TAG = 0xa110c000 | 0;
export const FREE_TAG = 0xf4ee0000 | 0;
export const TAG_MASK = 0xffffff00 | 0;

export const OWNER_TABLE_OFF = 0x400;
export const OWNER_SLOTS = 1024;
export const OWNER_SLOT_BYTES = 16;

export const USER_TABLE_OFF = 0x4400;
export const USER_SLOTS = 512;
export const USER_SLOT_BYTES = 16;

/** The kernel layer's fixed roots (object table pointers, id cursors, locks). */
export const ROOT_OFF = 0x8000;
export const ROOT_BYTES = 0x8000;

/** Linux's page size, the unit of memlock charging. */
export const PAGE_SIZE = 4096;
/** Limit word value meaning RLIM_INFINITY. */
export const MEMLOCK_INFINITY_PAGES = 0xffffffff;
/** Default RLIMIT_MEMLOCK: 8 MiB, what current distributions set. */
export const DEFAULT_MEMLOCK_BYTES = 8 * 1024 * 1024;

/** Size class index for a block of `blockBytes` (header included), or -1 for large. */
export function classFor(blockBytes: number): number {
  // Linear scan over 21 entries beats a log2 computation with fix-ups in practice.
  for (let c = 0; c < NCLASSES; c++) if (CLASS_SIZES[c]! >= blockBytes) return c;
  return -1;
}
