/**
 * Registers the program commands in the bpf() dispatch table and the
 * program object's release and info hooks, one line each. Imported for its
 * side effect by prog/index.ts. Prog array updates need nothing here: the
 * kernel layer resolves the fd in the value on every update path.
 */
import { BpfError, Errno } from "../errno.js";
import { BpfCmd } from "../uapi.js";
import { registerObjectRelease, type Kernel } from "../kernel/kernel.js";
import type { Process } from "../kernel/process.js";
import { ObjKind } from "../kernel/layout.js";
import { registerInfoByFd } from "../kernel/obj-cmds.js";
import { registerBpfCommand } from "../kernel/syscall.js";
import { freeProgObject, progLoad, type ProgLoadAttr } from "./prog-load.js";
import { progInfoBySlot, progInfoWriter, type ProgInfo } from "./prog-info.js";
import { progTestRun, type ProgTestRunAttr } from "./test-run.js";
import { setProgVerifier } from "./verifier-hook.js";
import { linuxVerifier } from "./verifier-adapter.js";

declare module "../kernel/attr.js" {
  interface BpfAttrMap {
    [BpfCmd.ProgLoad]: ProgLoadAttr;
    [BpfCmd.ProgTestRun]: ProgTestRunAttr;
  }
}

registerBpfCommand(BpfCmd.ProgLoad, progLoad);
registerBpfCommand(BpfCmd.ProgTestRun, progTestRun);
registerObjectRelease(ObjKind.Prog, (k: Kernel, dataOff: number) => freeProgObject(k, dataOff));
registerInfoByFd(ObjKind.Prog, progInfoWriter);
setProgVerifier(linuxVerifier);

/** High level: the info of program `fd` (throws EBADF / EINVAL). */
export function progInfo(proc: Process, fd: number): ProgInfo {
  const slot = proc.fds.get(fd);
  if (slot < 0) throw new BpfError(-slot, `prog fd ${fd}`);
  try {
    const info = progInfoBySlot(proc.kernel, slot);
    if (!info) throw new BpfError(Errno.EINVAL, `fd ${fd} is not a program`);
    return info;
  } finally {
    proc.kernel.objects.put(slot);
  }
}
