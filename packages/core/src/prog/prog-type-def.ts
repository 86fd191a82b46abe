/**
 * What bpfsim knows about a program type beyond the verifier's view
 * (`ProgTypeOps`): who may load it and how BPF_PROG_TEST_RUN runs it.
 */
import type { ProgTypeOps } from "./prog-type.js";

/** How BPF_PROG_TEST_RUN treats a type (net/bpf/test_run.c), or absent: -ENOTSUPP. */
export type TestRunKind = "skb" | "xdp" | "raw_tp" | "syscall";

export interface ProgTypeDef extends ProgTypeOps {
  /** Loadable without CAP_BPF (socket filters; Linux also lets cgroup skb through). */
  readonly unprivLoad: boolean;
  /** How BPF_PROG_TEST_RUN runs this type; absent means Linux has no test_run for it (-ENOTSUPP). */
  readonly testRun?: TestRunKind;
  /** Types whose programs must be loaded with BPF_F_SLEEPABLE allowed (syscall). */
  readonly sleepableOk?: boolean;
}
