/**
 * The `bpf()` dispatch table: command number -> handler, like the switch at
 * the bottom of kernel/bpf/syscall.c, but filled by registration so other
 * modules (program load, test run, links, attach) add their commands without
 * touching this file:
 *
 *   registerBpfCommand(BpfCmd.ProgLoad, (proc, attr) => progLoad(proc, attr));
 *
 * A handler runs on the calling thread (syscall context) and returns what
 * Linux returns: a non-negative value or -errno. It may also throw a
 * `BpfError`, which the dispatcher turns into -errno. An unknown command is
 * -EINVAL, as in Linux.
 *
 * The table is per thread (module state); every thread that imports the
 * kernel gets the map commands, and a thread that needs program commands
 * imports the module that registers them.
 */
import { BpfError, Errno } from "../errno.js";
import type { BpfAttrMap, KnownBpfCmd } from "./attr.js";
import type { Process } from "./process.js";

/** A `bpf()` command implementation. */
export type BpfHandler<A = unknown> = (proc: Process, attr: A) => number;

const handlers: (BpfHandler<any> | undefined)[] = [];

/** Register (or replace) the handler of `cmd`. Call at module load. */
export function registerBpfCommand<C extends KnownBpfCmd>(cmd: C, handler: BpfHandler<BpfAttrMap[C]>): void {
  handlers[cmd] = handler;
}

/** True if `cmd` has a handler on this thread. */
export function hasBpfCommand(cmd: number): boolean {
  return handlers[cmd] !== undefined;
}

/** Syscall entry: run `cmd` for `proc`. Returns a value or -errno. */
export function bpfDispatch(proc: Process, cmd: number, attr: unknown): number {
  const h = handlers[cmd];
  if (h === undefined) return -Errno.EINVAL;
  if (attr === null || typeof attr !== "object") return -Errno.EFAULT;
  try {
    return h(proc, attr);
  } catch (e) {
    if (e instanceof BpfError) return -e.errno;
    throw e;
  }
}
