/**
 * BPF_PROG_TYPE_TRACEPOINT (5): the context is the event's raw record; the
 * first 8 bytes (the common header) are not readable, reads are aligned and
 * below PERF_MAX_TRACE_SIZE (kernel/trace/bpf_trace.c
 * `tp_prog_is_valid_access`). The record size is the event's; the verifier
 * bound is Linux's. No BPF_PROG_TEST_RUN (-ENOTSUPP), as in Linux.
 */
import { ProgType } from "../../uapi.js";
import { allowList, TRACING_EXTRA } from "../func-sets.js";
import type { ProgTypeDef } from "../prog-type-def.js";
import { readOnlyAligned } from "./kprobe.js";

/** PERF_MAX_TRACE_SIZE */
export const PERF_MAX_TRACE_SIZE = 8192;

export const tracepointProgType: ProgTypeDef = {
  progType: ProgType.Tracepoint,
  name: "tracepoint",
  ctxSize: PERF_MAX_TRACE_SIZE,
  ctxAccess: readOnlyAligned(PERF_MAX_TRACE_SIZE, 8),
  helperAllowed: allowList(TRACING_EXTRA),
  directPacketAccess: false,
  unprivLoad: false,
};
