/**
 * The program tag (BPF_TAG_SIZE = 8 bytes), as kernel/bpf/core.c
 * `bpf_prog_calc_tag`: the first 8 bytes of the SHA-256 of the instructions
 * (Linux 6.18; older kernels used SHA-1),
 * where the imm of both slots of every BPF_PSEUDO_MAP_FD / BPF_PSEUDO_MAP_VALUE
 * lddw is zeroed, so the tag does not depend on which fd numbers the maps got.
 * Pure; any thread.
 */
import { sha256 } from "./sha256.js";

export const BPF_TAG_SIZE = 8;

/** Tag of the raw instruction bytes `insns` (8-byte slots, user form). */
export function progTag(insns: Uint8Array): Uint8Array {
  const copy = insns.slice();
  for (let at = 0; at + 8 <= copy.length; at += 8) {
    if (copy[at] !== 0x18) continue;
    const src = copy[at + 1]! >> 4;
    if (src === 1 || src === 2) {
      copy.fill(0, at + 4, at + 8);
      if (at + 16 <= copy.length && copy[at + 8] === 0 && copy[at + 9] === 0 && copy[at + 10] === 0 && copy[at + 11] === 0) {
        copy.fill(0, at + 12, at + 16);
      }
    }
    at += 8; // skip the second slot
  }
  return sha256(copy).subarray(0, BPF_TAG_SIZE);
}

/** Tag as 16 lowercase hex digits, as bpftool prints it. */
export function tagHex(tag: Uint8Array): string {
  return Array.from(tag, (b) => b.toString(16).padStart(2, "0")).join("");
}
