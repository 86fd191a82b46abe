/**
 * Registers the program commands in the bpf() dispatch table and the
 * program object's release and info hooks, one line each. Imported for its
 * side effect by prog/index.ts.
 *
 * BPF_MAP_UPDATE_ELEM is wrapped here for maps whose values are fds of
 * other objects (`MapImpl.sysUpdateFdElem`, e.g. the prog array): the fd in
 * the user's value is resolved in the calling process (Linux's
 * map_fd_get_ptr); every other map goes to the kernel's own handler.
 */
import { BpfError, Errno } from "../errno.js";
import { BpfCmd } from "../uapi.js";
import { registerObjectRelease, type Kernel } from "../kernel/kernel.js";
import type { Process } from "../kernel/process.js";
import { FMODE_CAN_WRITE, ObjKind } from "../kernel/layout.js";
import type { MapElemAttr } from "../kernel/attr.js";
import { mapGet, mapPut, mapUpdateElem } from "../kernel/map-cmds.js";
import { registerInfoByFd } from "../kernel/obj-cmds.js";
import { registerBpfCommand } from "../kernel/syscall.js";
import { bindProgArrayKernel } from "../maps/prog-array.js";
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

/**
 * BPF_MAP_UPDATE_ELEM for fd-valued maps; undefined = not such a map (or a
 * bad map fd), for the kernel's own handler to answer. Uses the kernel's
 * lock-free fd lookup, so other maps pay one cached peek.
 */
function fdMapUpdate(proc: Process, a: MapElemAttr): number | undefined {
  const k = proc.kernel;
  const h = mapGet(proc, a.mapFd);
  if (typeof h === "number") return undefined;
  const held = proc.fds.held;
  const fmode = proc.fds.fmode;
  try {
    if (!h.impl.sysUpdateFdElem) return undefined;
    bindProgArrayKernel(k);
    if (!(fmode & FMODE_CAN_WRITE)) return -Errno.EPERM;
    if (!a.key || a.key.length < h.hdr.keySize || !a.value || a.value.length < 4) return -Errno.EFAULT;
    const fd = new DataView(a.value.buffer, a.value.byteOffset, 4).getInt32(0, true);
    const obj = proc.fds.get(fd);
    if (obj < 0) return obj === -Errno.EBADF ? -Errno.EBADF : -Errno.EINVAL;
    const keyOff = k.scratch(h.hdr.keySize);
    if (keyOff < 0) {
      k.objects.put(obj);
      return keyOff;
    }
    k.arena.u8.set(a.key.subarray(0, h.hdr.keySize), keyOff);
    return h.impl.sysUpdateFdElem(keyOff, obj, a.flags ?? 0);
  } finally {
    mapPut(proc, h, held);
  }
}

registerBpfCommand(BpfCmd.ProgLoad, progLoad);
registerBpfCommand(BpfCmd.ProgTestRun, progTestRun);
registerBpfCommand(BpfCmd.MapUpdateElem, (p, a) => fdMapUpdate(p, a) ?? mapUpdateElem(p, a.mapFd, a.key, a.value, a.flags ?? 0));
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
