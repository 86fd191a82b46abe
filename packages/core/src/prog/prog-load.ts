/**
 * BPF_PROG_LOAD: attribute checks in the order of kernel/bpf/syscall.c
 * `bpf_prog_load`, then decode, map resolution, structural checks, the
 * verifier hook, and the program object (prog-object.ts) with its fd.
 *
 *   flags -> unprivileged_bpf_disabled -> insn_cnt (E2BIG) -> type needs
 *   privilege (EPERM) -> type known (EINVAL) -> name -> log attrs ->
 *   decode -> maps -> jumps/cfg -> helpers (GPL) -> verifier -> log ENOSPC
 *   -> object, id, fd
 *
 * A failed load changes nothing: references taken are dropped, arena blocks
 * freed. Syscall context, any thread.
 */
import { BpfError, Errno } from "../errno.js";
import { decodeProgram } from "../insn/codec.js";
import { KERNEL_OWNER } from "../memory/arena-api.js";
import type { Kernel } from "../kernel/kernel.js";
import type { Process } from "../kernel/process.js";
import { FMODE_CAN_READ, FMODE_CAN_WRITE, ObjKind } from "../kernel/layout.js";
import { objName } from "../kernel/map-create.js";
import {
  BPF_F_ANY_ALIGNMENT, BPF_F_SLEEPABLE, BPF_F_STRICT_ALIGNMENT, BPF_F_TEST_RND_HI32, BPF_F_TEST_STATE_FREQ,
  BPF_F_TOKEN_FD, BPF_F_XDP_DEV_BOUND_ONLY, BPF_F_XDP_HAS_FRAGS, MapType,
} from "../uapi.js";
import { checkInsns } from "./check-insns.js";
import { bindProgArrayKernel, progArrayClaimOwner } from "../maps/prog-array.js";
import {
  P_ATTACH_BTF_ID, P_EXPECTED_ATTACH, P_FLAGS, P_GPL, P_ID, P_INSNS, P_KERN_VERSION, P_LEN, P_LOAD_TIME, P_MAGIC,
  P_MAPS, P_NAME, P_NR_MAPS, P_ORIG_INSNS, P_SLOT, P_TAG, P_TYPE, P_UID, P_VERIFIED, PROG_HEADER_BYTES, PROG_MAGIC,
} from "./prog-object.js";
import { progTag } from "./prog-tag.js";
import { buildImage, resolveMaps } from "./prog-resolve.js";
import { progTypeFor } from "./registry.js";
import { progVerifier } from "./verifier-hook.js";
import { VerifierLog } from "./verifier-log.js";
import { procPrivileged, sysctlUnprivDisabled, nowNs } from "./prog-env.js";

/** BPF_PROG_LOAD attributes (`union bpf_attr`, prog load part). */
export interface ProgLoadAttr {
  progType: number;
  /** The instructions, 8 bytes each. */
  insns: Uint8Array;
  /** Instruction count; defaults to insns.length / 8. More than the buffer holds is EFAULT. */
  insnCnt?: number;
  license?: string;
  logLevel?: number;
  logSize?: number;
  logBuf?: Uint8Array | null;
  /** Out: bytes the full log needs (log_true_size). */
  logTrueSize?: number;
  kernVersion?: number;
  progFlags?: number;
  progName?: string | Uint8Array;
  progIfindex?: number;
  expectedAttachType?: number;
  attachBtfId?: number;
  attachBtfObjFd?: number;
  attachProgFd?: number;
  /** fd_array for BPF_PSEUDO_MAP_IDX(_VALUE). */
  fdArray?: ArrayLike<number>;
}

/** BPF_COMPLEXITY_LIMIT_INSNS and BPF_MAXINSNS. */
export const BPF_COMPLEXITY_LIMIT_INSNS = 1_000_000;
export const BPF_MAXINSNS = 4096;
const BPF_F_TEST_REG_INVARIANTS = 1 << 7;
const KNOWN_FLAGS =
  BPF_F_STRICT_ALIGNMENT | BPF_F_ANY_ALIGNMENT | BPF_F_TEST_STATE_FREQ | BPF_F_SLEEPABLE | BPF_F_TEST_RND_HI32 |
  BPF_F_XDP_HAS_FRAGS | BPF_F_XDP_DEV_BOUND_ONLY | BPF_F_TEST_REG_INVARIANTS | BPF_F_TOKEN_FD;

const GPL_LICENSES = new Set(["GPL", "GPL v2", "GPL and additional rights", "Dual BSD/GPL", "Dual MIT/GPL", "Dual MPL/GPL"]);

/** license_is_gpl_compatible() */
export function licenseIsGplCompatible(license: string | undefined): boolean {
  return license !== undefined && GPL_LICENSES.has(license);
}

const u32ok = (n: unknown): boolean => n === undefined || (typeof n === "number" && Number.isInteger(n) && n >= 0 && n <= 0xffffffff);

/** BPF_PROG_LOAD: a new program fd, or -errno with nothing changed. */
export function progLoad(proc: Process, a: ProgLoadAttr): number {
  const k = proc.kernel;
  bindProgArrayKernel(k);
  if (!u32ok(a.progType) || !u32ok(a.insnCnt) || !u32ok(a.progFlags) || !u32ok(a.logLevel) || !u32ok(a.logSize)) return -Errno.EINVAL;
  if (!(a.insns instanceof Uint8Array)) return -Errno.EFAULT;
  const flags = a.progFlags ?? 0;
  if (flags & ~KNOWN_FLAGS) return -Errno.EINVAL;
  if (flags & BPF_F_TOKEN_FD) return -Errno.EINVAL; // no BPF tokens in bpfsim
  const priv = procPrivileged(proc);
  if (!priv && sysctlUnprivDisabled(k) !== 0) return -Errno.EPERM;
  const cnt = a.insnCnt ?? a.insns.length >>> 3;
  if (cnt === 0 || cnt > (priv ? BPF_COMPLEXITY_LIMIT_INSNS : BPF_MAXINSNS)) return -Errno.E2BIG;
  const type = progTypeFor(a.progType);
  if (type && !type.unprivLoad && !priv) return -Errno.EPERM;
  if (cnt * 8 > a.insns.length) return -Errno.EFAULT;
  if (a.progIfindex) return -Errno.EINVAL; // no offload devices
  if (!type) return -Errno.EINVAL;
  if (flags & BPF_F_SLEEPABLE && !type.sleepableOk) return -Errno.EINVAL;
  const name = objName(a.progName);
  if (typeof name === "number") return name;
  const logErr = VerifierLog.check(a.logLevel ?? 0, a.logBuf, a.logSize ?? 0);
  if (logErr) return logErr;
  const log = new VerifierLog(a.logLevel ?? 0, a.logBuf ?? null, a.logSize ?? 0);
  const finish = (err: number): number => {
    const l = log.finalize();
    a.logTrueSize = log.trueSize;
    return err < 0 ? err : l < 0 ? l : err;
  };

  const user = a.insns.slice(0, cnt * 8);
  const dec = decodeProgram(user);
  if (!dec.ok) {
    log.write(`${dec.error.message}\n`);
    return finish(-Errno.EINVAL);
  }
  const gpl = licenseIsGplCompatible(a.license);
  const maps = resolveMaps(proc, dec.insns, a.fdArray);
  if ("errno" in maps) {
    log.write(`${maps.msg}\n`);
    return finish(-maps.errno);
  }
  const dropMaps = (e: number): number => {
    for (const s of maps.slots) k.objects.put(s);
    return e;
  };
  const verify = progVerifier();
  const bad = checkInsns(dec.insns, cnt, { type, gplCompatible: gpl, privileged: priv, verifierPresent: !!verify });
  if (bad) {
    log.write(`${bad.msg}\n`);
    return dropMaps(finish(-bad.errno));
  }
  for (const s of maps.slots) {
    const h = k.mapBySlot(s)!;
    if (h.hdr.type === MapType.ProgArray && !progArrayClaimOwner(h.hdr, a.progType)) {
      log.write("incompatible program type for prog array\n");
      return dropMaps(finish(-Errno.EINVAL));
    }
  }
  let processed = cnt;
  if (verify) {
    const image = buildImage(k, user, maps, true);
    if (!image) return dropMaps(finish(-Errno.EFAULT));
    const dv = new DataView(image.buffer, image.byteOffset, image.byteLength);
    const refs = new Map(
      [...maps.refs].map(([pc, r]) => {
        const imm64 = BigInt(dv.getUint32(pc * 8 + 4, true)) | (BigInt(dv.getUint32(pc * 8 + 12, true)) << 32n);
        return [pc, { map: r.map.hdr, imm64, ...(r.valueOff !== undefined ? { valueOff: r.valueOff } : {}) }];
      }),
    );
    const v = verify({
      insns: dec.insns, len: cnt, image, type, mapRefs: refs, gplCompatible: gpl, privileged: priv, progFlags: flags,
      expectedAttachType: a.expectedAttachType ?? 0, log,
    });
    if (v.err !== 0) return dropMaps(finish(v.err));
    processed = (v as { insnProcessed: number }).insnProcessed;
  } else if (log.level) {
    // No verifier on this thread: the summary line Linux prints for a program that is all straight-line code.
    log.write(`processed ${cnt} insns (limit ${BPF_COMPLEXITY_LIMIT_INSNS}) max_states_per_insn 0 total_states 0 peak_states 0 mark_read 0\n`);
  }
  const logRes = finish(0);
  if (logRes < 0) return dropMaps(logRes);

  const img = buildImage(k, user, maps);
  if (!img) return dropMaps(-Errno.EFAULT);
  const off = allocProgObject(k, proc, a, {
    type: a.progType, img, user, mapSlots: maps.slots, gpl, flags, name, processed,
  });
  if (off < 0) return dropMaps(off);
  // The slot and id go into the header inside alloc, before the object can
  // be found by id (BPF_PROG_GET_FD_BY_ID on another thread): Linux too
  // allocates the id only once the program is complete.
  const slot = k.objects.alloc(ObjKind.Prog, off, proc.uid, (s, id) => {
    Atomics.store(k.arena.u32, (off >>> 2) + P_SLOT, s);
    Atomics.store(k.arena.u32, (off >>> 2) + P_ID, id);
  });
  if (slot < 0) {
    freeProgBlocks(k, off);
    return dropMaps(slot);
  }
  const fd = proc.fds.install(slot, FMODE_CAN_READ | FMODE_CAN_WRITE);
  if (fd < 0) k.objects.put(slot); // frees the program and its map references
  return fd;
}

interface NewProg {
  type: number;
  img: Uint8Array;
  user: Uint8Array;
  mapSlots: number[];
  gpl: boolean;
  flags: number;
  name: Uint8Array;
  processed: number;
}

function allocProgObject(k: Kernel, proc: Process, a: ProgLoadAttr, p: NewProg): number {
  const ar = k.arena;
  const hdr = ar.alloc(PROG_HEADER_BYTES, KERNEL_OWNER);
  if (hdr < 0) return hdr;
  const insns = ar.alloc(p.img.length, KERNEL_OWNER);
  const orig = ar.alloc(p.user.length, KERNEL_OWNER);
  const mapsOff = ar.alloc(Math.max(4, p.mapSlots.length * 4), KERNEL_OWNER);
  if (insns < 0 || orig < 0 || mapsOff < 0) {
    for (const o of [hdr, insns, orig, mapsOff]) if (o > 0) ar.free(o);
    return -Errno.ENOMEM;
  }
  ar.u8.set(p.img, insns);
  ar.u8.set(p.user, orig);
  p.mapSlots.forEach((s, i) => (ar.u32[(mapsOff >>> 2) + i] = s));
  const w = hdr >>> 2;
  ar.u8.fill(0, hdr, hdr + PROG_HEADER_BYTES);
  ar.u32[w + P_TYPE] = p.type;
  ar.u32[w + P_LEN] = p.img.length >>> 3;
  ar.u32[w + P_INSNS] = insns;
  ar.u32[w + P_ORIG_INSNS] = orig;
  ar.u32[w + P_NR_MAPS] = p.mapSlots.length;
  ar.u32[w + P_MAPS] = mapsOff;
  ar.u32[w + P_GPL] = p.gpl ? 1 : 0;
  ar.u32[w + P_EXPECTED_ATTACH] = a.expectedAttachType ?? 0;
  ar.u32[w + P_FLAGS] = p.flags;
  ar.u32[w + P_UID] = proc.uid;
  ar.u32[w + P_KERN_VERSION] = a.kernVersion ?? 0;
  ar.u32[w + P_ATTACH_BTF_ID] = a.attachBtfId ?? 0;
  ar.u32[w + P_VERIFIED] = p.processed;
  ar.u64[(hdr >>> 3) + (P_LOAD_TIME >> 1)] = nowNs();
  ar.u8.set(progTag(p.user), hdr + P_TAG * 4);
  ar.u8.set(p.name, hdr + P_NAME * 4);
  Atomics.store(ar.u32, w + P_MAGIC, PROG_MAGIC);
  return hdr;
}

function freeProgBlocks(k: Kernel, hdr: number): void {
  const ar = k.arena;
  const w = hdr >>> 2;
  Atomics.store(ar.u32, w + P_MAGIC, 0);
  for (const f of [P_INSNS, P_ORIG_INSNS, P_MAPS]) {
    const o = ar.u32[w + f]!;
    if (o) ar.free(o);
  }
  ar.free(hdr);
}

/** Last reference to a program gone (any thread): drop its map references and free its memory. */
export function freeProgObject(k: Kernel, hdr: number): void {
  const w = hdr >>> 2;
  const n = k.arena.u32[w + P_NR_MAPS]!;
  const mapsW = k.arena.u32[w + P_MAPS]! >>> 2;
  const slots = Array.from({ length: n }, (_, i) => k.arena.u32[mapsW + i]!);
  freeProgBlocks(k, hdr);
  for (const s of slots) k.objects.put(s);
}

/** Throwing form for the high-level API. */
export function progLoadOrThrow(proc: Process, a: ProgLoadAttr): number {
  const r = progLoad(proc, a);
  if (r < 0) throw new BpfError(-r, a.logBuf ? undefined : "BPF_PROG_LOAD");
  return r;
}
