/**
 * BPF_PROG_TYPE_RAW_TRACEPOINT (17): `struct bpf_raw_tracepoint_args { __u64
 * args[0]; }`, read-only, up to MAX_BPF_FUNC_ARGS (12) u64 arguments
 * (`raw_tp_prog_is_valid_access`). BPF_PROG_TEST_RUN passes ctx_in as the
 * args and runs once, as net/bpf/test_run.c `bpf_prog_test_run_raw_tp`.
 */
import { ProgType } from "../../uapi.js";
import { allowList, TRACING_EXTRA } from "../func-sets.js";
import type { ProgTypeDef } from "../prog-type-def.js";
import { readOnlyAligned } from "./kprobe.js";

export const MAX_BPF_FUNC_ARGS = 12;

export const rawTracepointProgType: ProgTypeDef = {
  progType: ProgType.RawTracepoint,
  name: "raw_tracepoint",
  ctxSize: 8 * MAX_BPF_FUNC_ARGS,
  ctxAccess: readOnlyAligned(8 * MAX_BPF_FUNC_ARGS),
  helperAllowed: allowList(TRACING_EXTRA),
  directPacketAccess: false,
  unprivLoad: false,
  testRun: "raw_tp",
};
