import { BpfCmd, BpfError, ProgType, type Process } from "@bpfsim/core";
import { loadCollectionMaps, updateElem, type CollectionMaps, type LoadedMap, type LoadMapsOptions } from "./load-maps.js";
import type { CollectionSpec, ProgramSpec } from "./spec-types.js";

/**
 * "spec -> live collection": maps first (load-maps.ts), then every program
 * with its map references patched to the new fds, then the prog-array slots
 * the object initialised statically. All or nothing: a failure closes every
 * program and map made and unpins what was pinned, then rethrows.
 *
 * What the spec leaves for later is refused by name rather than loaded
 * wrong: unresolved externs (ksyms, kfuncs) are EOPNOTSUPP, CO-RE
 * relocations are EOPNOTSUPP (they need bpfsim's own kernel types), and a
 * program whose section gave no type is EINVAL until the caller sets one.
 *
 * Context: syscall (user space) on any thread, in the process `proc`.
 */

export interface LoadedProgram {
  name: string;
  fd: number;
  spec: ProgramSpec;
}

export interface Collection {
  maps: Record<string, LoadedMap>;
  programs: Record<string, LoadedProgram>;
  /** Closes every fd the collection holds (pinned maps stay in bpffs). */
  close(): void;
}

export interface LoadCollectionOptions extends LoadMapsOptions {
  /** Verifier log level for BPF_PROG_LOAD (0: only on failure, then level 1). */
  logLevel?: number;
  /** Log buffer size. Default 1 MiB. */
  logSize?: number;
}

/** The instructions with every map reference's imm set to its fd. */
export function patchMapFds(prog: ProgramSpec, maps: Record<string, { fd: number }>): Uint8Array {
  const insns = prog.instructions.slice();
  const view = new DataView(insns.buffer);
  for (const r of prog.relocations) {
    if (!Number.isInteger(r.insnIndex) || r.insnIndex < 0 || (r.insnIndex + 1) * 8 > insns.length) {
      throw new BpfError("EINVAL", `program '${prog.name}': relocation at instruction ${r.insnIndex} is outside the program`);
    }
    const m = maps[r.map];
    if (!m) throw new BpfError("EINVAL", `program '${prog.name}': instruction ${r.insnIndex} refers to map '${r.map}', which is not loaded`);
    view.setInt32(r.insnIndex * 8 + 4, m.fd, true);
  }
  return insns;
}

function loadProgram(proc: Process, prog: ProgramSpec, maps: CollectionMaps["maps"], opts: LoadCollectionOptions): number {
  const what = `program '${prog.name}' (section '${prog.sectionName}')`;
  if (prog.type === ProgType.Unspec) throw new BpfError("EINVAL", `${what}: the section name gives no program type; set spec.type`);
  if (prog.externs.length > 0) {
    throw new BpfError("EOPNOTSUPP", `${what}: extern '${prog.externs[0]!.symbol}' cannot be resolved (ksyms and kfuncs are not supported yet)`);
  }
  if (prog.coreRelos.length > 0) {
    throw new BpfError("EOPNOTSUPP", `${what}: ${prog.coreRelos.length} CO-RE relocations; resolving them is not supported yet`);
  }
  const insns = patchMapFds(prog, maps);
  const logSize = opts.logSize ?? 1 << 20;
  const attempt = (logLevel: number) => {
    const logBuf = logLevel > 0 ? new Uint8Array(logSize) : null;
    const ret = proc.bpf(BpfCmd.ProgLoad, {
      progType: prog.type,
      insns,
      license: prog.license,
      kernVersion: prog.kernVersion,
      progFlags: prog.flags,
      progName: prog.name.slice(0, 15),
      expectedAttachType: prog.expectedAttachType,
      logLevel,
      logSize: logBuf ? logSize : 0,
      logBuf,
    });
    return { ret, log: logBuf ? new TextDecoder().decode(logBuf.subarray(0, Math.max(0, logBuf.indexOf(0)))) : "" };
  };
  let r = attempt(opts.logLevel ?? 0);
  // Like libbpf: on failure, load again with a log so the error says why.
  if (r.ret < 0 && !opts.logLevel) r = attempt(1);
  if (r.ret < 0) {
    const tail = r.log.trim().split("\n").slice(-8).join("\n");
    throw new BpfError(-r.ret, `${what}: BPF_PROG_LOAD failed${tail ? `\n${tail}` : ""}`);
  }
  return r.ret;
}

/** Creates every map and loads every program of `spec` in `proc`. */
export function loadCollection(proc: Process, spec: CollectionSpec, opts: LoadCollectionOptions = {}): Collection {
  const maps = loadCollectionMaps(proc, spec, opts);
  const programs: Record<string, LoadedProgram> = {};
  const closePrograms = () => {
    for (const p of Object.values(programs)) {
      try {
        proc.close(p.fd);
      } catch {
        // Already closed by the caller.
      }
    }
  };
  try {
    for (const [name, prog] of Object.entries(spec.programs)) {
      programs[name] = { name, fd: loadProgram(proc, prog, maps.maps, opts), spec: prog };
    }
    const u32 = (n: number) => new Uint8Array(new Uint32Array([n]).buffer);
    for (const slot of maps.pendingProgramSlots) {
      const prog = programs[slot.program];
      if (!prog) throw new BpfError("EINVAL", `map '${slot.map}': slot ${slot.index} names program '${slot.program}', which is not loaded`);
      updateElem(proc, maps.maps[slot.map]!.fd, u32(slot.index), u32(prog.fd), `map '${slot.map}' slot ${slot.index}`);
    }
  } catch (e) {
    closePrograms();
    maps.abort();
    throw e;
  }
  return {
    maps: maps.maps,
    programs,
    close() {
      closePrograms();
      maps.close();
    },
  };
}
