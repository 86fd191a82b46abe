/**
 * BPF_PROG_TYPE_PERF_EVENT (7): `struct bpf_perf_event_data`, 184 bytes,
 * read-only: `regs` (struct pt_regs, 8-byte reads only), `sample_period`
 * and `addr` (u64, narrow reads allowed) — kernel/trace/bpf_trace.c
 * `pe_prog_is_valid_access`. Linux rewrites these loads into loads through
 * the kernel's `bpf_perf_event_data_kern` pointers; bpfsim lays the
 * structure out in the arena as the UAPI declares it, so no rewrite is
 * needed. No BPF_PROG_TEST_RUN (-ENOTSUPP), as in Linux.
 *
 *   off  field
 *     0  regs (struct pt_regs, 168 bytes)
 *   168  sample_period (u64)
 *   176  addr (u64)
 */
import { ProgType } from "../../uapi.js";
import { allowList, TRACING_EXTRA } from "../func-sets.js";
import type { ProgTypeDef } from "../prog-type-def.js";
import type { CtxAccess } from "../prog-type.js";

export const PerfEventData = { regs: 0, sample_period: 168, addr: 176 } as const;
export const PERF_EVENT_DATA_SIZE = 184;

function ctxAccess(off: number, size: number, write: boolean): CtxAccess | null {
  if (write || off < 0 || off >= PERF_EVENT_DATA_SIZE || size <= 0 || off % size !== 0) return null;
  if (off >= PerfEventData.sample_period) return size <= 8 ? { kind: "scalar" } : null;
  return size === 8 ? { kind: "scalar" } : null;
}

export const perfEventProgType: ProgTypeDef = {
  progType: ProgType.PerfEvent,
  name: "perf_event",
  ctxSize: PERF_EVENT_DATA_SIZE,
  ctxAccess,
  helperAllowed: allowList(TRACING_EXTRA),
  directPacketAccess: false,
  unprivLoad: false,
};
