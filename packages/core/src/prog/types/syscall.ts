/**
 * BPF_PROG_TYPE_SYSCALL (31): the context is a buffer of user memory of any
 * size below U16_MAX, readable and writable with aligned accesses
 * (kernel/bpf/syscall.c `syscall_prog_is_valid_access`). Sleepable.
 * BPF_PROG_TEST_RUN copies ctx_in in, runs once and copies it back out.
 */
import { ProgType } from "../../uapi.js";
import { allowList, TRACING_EXTRA } from "../func-sets.js";
import type { ProgTypeDef } from "../prog-type-def.js";
import type { CtxAccess } from "../prog-type.js";

export const U16_MAX = 0xffff;

function ctxAccess(off: number, size: number): CtxAccess | null {
  if (off < 0 || off >= U16_MAX || size <= 0 || off % size !== 0) return null;
  return { kind: "scalar" };
}

export const syscallProgType: ProgTypeDef = {
  progType: ProgType.Syscall,
  name: "syscall",
  ctxSize: U16_MAX,
  ctxAccess,
  helperAllowed: allowList(TRACING_EXTRA),
  directPacketAccess: false,
  unprivLoad: false,
  testRun: "syscall",
  sleepableOk: true,
};
