/**
 * Attaching programs to hooks through bpf(): BPF_LINK_CREATE,
 * BPF_LINK_DETACH, BPF_RAW_TRACEPOINT_OPEN, BPF_PROG_ATTACH and
 * BPF_PROG_DETACH, registered in the kernel's dispatch table at module load.
 *
 * A link is an object of kind Link (ids from the link id space, an fd in the
 * process). Its data block (LINK_BYTES):
 *
 *   +0 hookId  +4 program slot  +8 attach type  +12 state  +16 program id
 *   +20 tracepoint name length + 1 (raw tracepoint links; bpf_link_info)
 *
 * state: 0 = being created (holds the program reference), 1 = attached
 * (holds it), 2 = detached (reference dropped).
 *
 * The link holds one reference on its program while attached. Closing the
 * last fd of a link, or BPF_LINK_DETACH, takes the program off the hook
 * (hook-table.ts publishes the new list under its seqlock) and drops that
 * reference; a detached link stays a valid fd, as in Linux.
 *
 * Rules (Linux's): XDP has one program per interface (EBUSY for a second
 * link); tcx and tracing hooks run several in attach order; the program type
 * must fit the attach type (EINVAL). BPF_PROG_ATTACH (no link) is accepted
 * for tcx and keeps a program reference until BPF_PROG_DETACH.
 *
 * The hook table's offset is a kernel ext root ("events.hooks"), written by
 * the machine at boot, so these commands work on any thread.
 *
 * Who may call: syscall context on any thread.
 */
import { BpfError, Errno } from "../errno.js";
import { AttachType, BpfCmd, ProgType } from "../uapi.js";
import { KERNEL_OWNER } from "../memory/arena-api.js";
import { FMODE_CAN_READ, FMODE_CAN_WRITE, ObjKind } from "../kernel/layout.js";
import { registerObjectRelease, type Kernel } from "../kernel/kernel.js";
import type { Process } from "../kernel/process.js";
import { registerBpfCommand } from "../kernel/syscall.js";
import { registerInfoByFd } from "../kernel/obj-cmds.js";
import { HookType, hookEdit, hookGetOrCreate, hookInfo } from "./hook-table.js";

export interface LinkCreateAttr {
  progFd: number;
  /** Interface index (XDP, tcx) — Linux's target_ifindex, which shares target_fd's word. */
  targetIfindex?: number;
  targetFd?: number;
  attachType: number;
  flags?: number;
}
export interface LinkDetachAttr {
  linkFd: number;
}
export interface RawTracepointOpenAttr {
  name: string;
  progFd: number;
}
export interface ProgAttachAttr {
  targetIfindex?: number;
  targetFd?: number;
  attachBpfFd: number;
  attachType: number;
  attachFlags?: number;
}

declare module "../kernel/attr.js" {
  interface BpfAttrMap {
    [BpfCmd.LinkCreate]: LinkCreateAttr;
    [BpfCmd.LinkDetach]: LinkDetachAttr;
    [BpfCmd.RawTracepointOpen]: RawTracepointOpenAttr;
    [BpfCmd.ProgAttach]: ProgAttachAttr;
    [BpfCmd.ProgDetach]: ProgAttachAttr;
  }
}

export const LINK_BYTES = 32;
const L_HOOK = 0;
const L_PROG_SLOT = 1;
const L_ATTACH_TYPE = 2;
const L_ATTACHED = 3;
const L_PROG_ID = 4;
const L_TP_NAME_LEN = 5;
/** Word 1 of a program header: its type (prog-object.ts P_TYPE). */
const P_TYPE_WORD = 1;

/** The machine's hook table, or -ENODEV if no machine set one up (a bare kernel). */
export function hookTableOf(k: Kernel): number {
  const off = Atomics.load(k.arena.u32, k.extRoot("events.hooks"));
  return off === 0 ? -Errno.ENODEV : off;
}

/** Machine boot: record where the hook table lives. */
export function setHookTable(k: Kernel, tableOff: number): void {
  Atomics.store(k.arena.u32, k.extRoot("events.hooks"), tableOff);
}

/** FNV-1a of a name: the target id of tracepoints and probed functions, the same on every thread. */
export function symbolId(name: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** Program types each hook type accepts. */
const HOOK_PROG_TYPES: Record<HookType, readonly number[]> = {
  [HookType.Xdp]: [ProgType.Xdp],
  [HookType.TcIngress]: [ProgType.SchedCls, ProgType.SchedAct],
  [HookType.TcEgress]: [ProgType.SchedCls, ProgType.SchedAct],
  [HookType.SocketFilter]: [ProgType.SocketFilter],
  [HookType.Kprobe]: [ProgType.Kprobe],
  [HookType.Kretprobe]: [ProgType.Kprobe],
  [HookType.Tracepoint]: [ProgType.Tracepoint],
  [HookType.RawTracepoint]: [ProgType.RawTracepoint],
  [HookType.PerfEvent]: [ProgType.PerfEvent],
};

/** A program fd resolved with a reference held: [slot, type, id]. Throws EBADF/EINVAL as bpf_prog_get. */
function progGet(proc: Process, fd: number): [number, number, number] {
  const k = proc.kernel;
  const slot = proc.fds.get(fd);
  if (slot < 0) throw new BpfError(slot === -Errno.EBADF ? Errno.EBADF : Errno.EINVAL, `fd ${fd}`);
  if (k.objects.kindOf(slot) !== ObjKind.Prog) {
    k.objects.put(slot);
    throw new BpfError(Errno.EINVAL, `fd ${fd} is not a program`);
  }
  return [slot, k.arena.u32[(k.objects.dataOf(slot) >>> 2) + P_TYPE_WORD]!, k.objects.idOf(slot)];
}

/**
 * Syscall: attach the program behind `progFd` to hook (type, target) with a
 * new link; returns the link fd. The machine uses this directly for hooks
 * bpf() has no attribute form for here (kprobes by name, sockets, perf ticks).
 */
export function linkCreateHook(proc: Process, progFd: number, type: HookType, target: number, attachType: number, tpName?: string): number {
  const k = proc.kernel;
  const table = hookTableOf(k);
  if (table < 0) throw new BpfError(-table, "no hook table: this kernel has no machine");
  const [progSlot, progType, progId] = progGet(proc, progFd);
  let dataOff = 0;
  let linkSlot = -1;
  try {
    if (!HOOK_PROG_TYPES[type].includes(progType)) throw new BpfError(Errno.EINVAL, `program type ${progType} does not fit this attach point`);
    const hookId = hookGetOrCreate(k.arena, table, type, target);
    dataOff = k.arena.alloc(LINK_BYTES, KERNEL_OWNER);
    if (dataOff < 0) throw new BpfError(Errno.ENOMEM, "link");
    const u32 = k.arena.u32;
    const w = dataOff >>> 2;
    u32[w + L_HOOK] = hookId;
    u32[w + L_PROG_SLOT] = progSlot;
    u32[w + L_ATTACH_TYPE] = attachType;
    u32[w + L_PROG_ID] = progId;
    u32[w + L_TP_NAME_LEN] = tpName === undefined ? 0 : tpName.length + 1;
    linkSlot = k.objects.alloc(ObjKind.Link, dataOff, proc.uid);
    if (linkSlot < 0) throw new BpfError(-linkSlot, "link");
    const linkId = k.objects.idOf(linkSlot);
    hookEdit(k.arena, table, hookId, (progs, links) => {
      if (type === HookType.Xdp && progs.length > 0) throw new BpfError(Errno.EBUSY, "Can't replace active BPF XDP link");
      progs.push(progId);
      links.push(linkId);
    });
    Atomics.store(u32, w + L_ATTACHED, 1);
  } catch (e) {
    if (linkSlot >= 0) k.objects.put(linkSlot); // releases the data block (not attached: no detach)
    else {
      if (dataOff > 0) k.arena.free(dataOff);
      k.objects.put(progSlot);
    }
    throw e;
  }
  const fd = proc.fds.install(linkSlot, FMODE_CAN_READ | FMODE_CAN_WRITE);
  if (fd < 0) {
    k.objects.put(linkSlot);
    throw new BpfError(-fd, "link fd");
  }
  return fd;
}

/** Take a link off its hook and drop its program reference. Idempotent. */
function linkDetachData(k: Kernel, dataOff: number, linkId: number): void {
  const w = dataOff >>> 2;
  if (Atomics.compareExchange(k.arena.u32, w + L_ATTACHED, 1, 2) !== 1) return;
  const table = hookTableOf(k);
  if (table > 0) {
    hookEdit(k.arena, table, k.arena.u32[w + L_HOOK]!, (progs, links) => {
      const i = links.indexOf(linkId);
      if (i >= 0) {
        progs.splice(i, 1);
        links.splice(i, 1);
      }
    });
  }
  k.objects.put(k.arena.u32[w + L_PROG_SLOT]!);
}

registerObjectRelease(ObjKind.Link, (k, dataOff, slot) => {
  const w = dataOff >>> 2;
  const state = Atomics.load(k.arena.u32, w + L_ATTACHED);
  if (state === 1) linkDetachData(k, dataOff, k.objects.idOf(slot));
  // Creation failed after the link object existed: the program reference is still held.
  else if (state === 0) k.objects.put(k.arena.u32[w + L_PROG_SLOT]!);
  k.arena.free(dataOff);
});

function tcxHook(attachType: number): HookType | undefined {
  if (attachType === AttachType.TcxIngress) return HookType.TcIngress;
  if (attachType === AttachType.TcxEgress) return HookType.TcEgress;
  return undefined;
}

/**
 * The target interface. Every ifindex >= 1 exists in bpfsim; 0 is no
 * device: EINVAL for XDP (bpf_xdp_link_attach), ENODEV for tcx, as Linux.
 */
function ifindexOf(a: { targetIfindex?: number; targetFd?: number }, noDev: number): number {
  const i = a.targetIfindex ?? a.targetFd ?? 0;
  if (!Number.isInteger(i) || i < 1) throw new BpfError(noDev, `no interface ${i}`);
  return i;
}

registerBpfCommand(BpfCmd.LinkCreate, (proc, a) => {
  if ((a.flags ?? 0) !== 0) return -Errno.EINVAL;
  if (a.attachType === AttachType.Xdp) return linkCreateHook(proc, a.progFd, HookType.Xdp, ifindexOf(a, Errno.EINVAL), a.attachType);
  const tcx = tcxHook(a.attachType);
  if (tcx !== undefined) return linkCreateHook(proc, a.progFd, tcx, ifindexOf(a, Errno.ENODEV), a.attachType);
  return -Errno.EINVAL;
});

registerBpfCommand(BpfCmd.RawTracepointOpen, (proc, a) => {
  // No such tracepoint: ENOENT (bpf_get_raw_tracepoint). Any other name exists in bpfsim.
  if (typeof a.name !== "string" || a.name.length === 0) return -Errno.ENOENT;
  return linkCreateHook(proc, a.progFd, HookType.RawTracepoint, symbolId(a.name), AttachType.TraceRawTp, a.name);
});

registerBpfCommand(BpfCmd.LinkDetach, (proc, a) => {
  const k = proc.kernel;
  const slot = proc.fds.get(a.linkFd);
  if (slot < 0) return slot;
  try {
    if (k.objects.kindOf(slot) !== ObjKind.Link) return -Errno.EINVAL;
    linkDetachData(k, k.objects.dataOf(slot), k.objects.idOf(slot));
    return 0;
  } finally {
    k.objects.put(slot);
  }
});

// BPF_PROG_ATTACH for tcx: the hook keeps the program (link id 0) until BPF_PROG_DETACH.
registerBpfCommand(BpfCmd.ProgAttach, (proc, a) => {
  const type = tcxHook(a.attachType);
  if (type === undefined) return -Errno.EINVAL;
  const k = proc.kernel;
  const table = hookTableOf(k);
  if (table < 0) return table;
  const target = ifindexOf(a, Errno.ENODEV);
  const [slot, progType, progId] = progGet(proc, a.attachBpfFd);
  try {
    if (!HOOK_PROG_TYPES[type].includes(progType)) return -Errno.EINVAL;
    const hookId = hookGetOrCreate(k.arena, table, type, target);
    hookEdit(k.arena, table, hookId, (progs, links) => {
      if (progs.some((p, i) => p === progId && links[i] === 0)) throw new BpfError(Errno.EEXIST, "program already attached");
      progs.push(progId);
      links.push(0);
    });
    return 0; // the reference stays with the hook
  } catch (e) {
    k.objects.put(slot);
    throw e;
  }
});

registerBpfCommand(BpfCmd.ProgDetach, (proc, a) => {
  const type = tcxHook(a.attachType);
  if (type === undefined) return -Errno.EINVAL;
  const k = proc.kernel;
  const table = hookTableOf(k);
  if (table < 0) return table;
  const [slot, , progId] = progGet(proc, a.attachBpfFd);
  try {
    const hookId = hookGetOrCreate(k.arena, table, type, ifindexOf(a, Errno.ENODEV));
    let found = false;
    hookEdit(k.arena, table, hookId, (progs, links) => {
      const i = progs.findIndex((p, j) => p === progId && links[j] === 0);
      if (i < 0) throw new BpfError(Errno.ENOENT, "program not attached");
      progs.splice(i, 1);
      links.splice(i, 1);
      found = true;
    });
    // Drop the reference BPF_PROG_ATTACH left with the hook.
    if (found) k.objects.put(slot);
    return 0;
  } finally {
    k.objects.put(slot);
  }
});

/** enum bpf_link_type values bpfsim's links report. */
const BPF_LINK_TYPE_RAW_TRACEPOINT = 1;
const BPF_LINK_TYPE_XDP = 6;
const BPF_LINK_TYPE_PERF_EVENT = 7;
const BPF_LINK_TYPE_TCX = 11;
/** sizeof(struct bpf_link_info) in Linux 6.18. */
export const BPF_LINK_INFO_SIZE = 64;

/**
 * struct bpf_link_info: type, id, prog_id, then the per-type union at +16
 * (xdp/tcx: ifindex, 0 once detached, as Linux reports; tcx: attach_type;
 * raw tracepoint: tp_name_len with no name buffer given). kprobe, tracepoint
 * and perf event hooks report BPF_LINK_TYPE_PERF_EVENT, as their Linux
 * counterparts (perf_event_open + BPF_LINK_CREATE) would, with no details.
 */
registerInfoByFd(ObjKind.Link, (k, slot, out) => {
  const w = k.objects.dataOf(slot) >>> 2;
  const u32 = k.arena.u32;
  const dv = new DataView(out.buffer, out.byteOffset, out.byteLength);
  const attached = Atomics.load(u32, w + L_ATTACHED) === 1;
  const table = hookTableOf(k);
  const hook = table > 0 ? hookInfo(k.arena, table, u32[w + L_HOOK]!) : undefined;
  let type = 0;
  switch (hook?.type) {
    case HookType.Xdp:
      type = BPF_LINK_TYPE_XDP;
      dv.setUint32(16, attached ? hook.target : 0, true);
      break;
    case HookType.TcIngress:
    case HookType.TcEgress:
      type = BPF_LINK_TYPE_TCX;
      dv.setUint32(16, attached ? hook.target : 0, true);
      dv.setUint32(20, u32[w + L_ATTACH_TYPE]!, true);
      break;
    case HookType.RawTracepoint:
      type = BPF_LINK_TYPE_RAW_TRACEPOINT;
      dv.setUint32(24, u32[w + L_TP_NAME_LEN]!, true);
      break;
    case HookType.Kprobe:
    case HookType.Kretprobe:
    case HookType.Tracepoint:
    case HookType.PerfEvent:
      type = BPF_LINK_TYPE_PERF_EVENT;
      break;
  }
  dv.setUint32(0, type, true);
  dv.setUint32(4, k.objects.idOf(slot), true);
  dv.setUint32(8, u32[w + L_PROG_ID]!, true);
  return BPF_LINK_INFO_SIZE;
});
