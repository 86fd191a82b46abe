/**
 * Links: a program attached to a hook, with an id, as BPF_LINK_CREATE makes.
 * The rules per hook follow Linux:
 *  - XDP: one program per interface; a second link gets EBUSY ("Can't
 *    replace active BPF XDP link"). No multi-program dispatcher.
 *  - tc (tcx) and tracing hooks: several programs, run in attach order.
 *  - socket filter: SO_ATTACH_BPF replaces the socket's filter.
 *  - a program of the wrong type for the hook: EINVAL.
 * The hook's program list is rewritten under the hook table's seqlock
 * (hook-table.ts), so CPUs see either the old list or the new one.
 */
import { BpfError, Errno, hookEdit, type ArenaApi } from "@bpfsim/core";
import type { ProgramDef } from "@bpfsim/cpu-worker";
import { progTypesFor, type HookSpec } from "./hooks.js";

interface Link {
  id: number;
  progId: number;
  hookId: number;
  spec: HookSpec;
}

export class Links {
  private readonly links = new Map<number, Link>();
  private nextId = 1;

  constructor(
    private readonly arena: ArenaApi,
    private readonly tableOff: number,
    private readonly program: (id: number) => ProgramDef | undefined,
  ) {}

  create(progId: number, spec: HookSpec, hookId: number): number {
    const prog = this.program(progId);
    if (!prog) throw new BpfError(Errno.EBADF, `no program ${progId}`);
    if (!progTypesFor(spec).includes(prog.progType)) {
      throw new BpfError(Errno.EINVAL, `program type ${prog.progType} cannot attach to a ${spec.type} hook`);
    }
    const id = this.nextId++;
    let replaced: number | undefined;
    hookEdit(this.arena, this.tableOff, hookId, (progs, links) => {
      if (spec.type === "xdp" && progs.length > 0) throw new BpfError(Errno.EBUSY, "Can't replace active BPF XDP link");
      if (spec.type === "socket" && progs.length > 0) {
        replaced = links[0];
        progs.length = 0;
        links.length = 0;
      }
      progs.push(progId);
      links.push(id);
    });
    if (replaced !== undefined) this.links.delete(replaced);
    this.links.set(id, { id, progId, hookId, spec });
    return id;
  }

  destroy(linkId: number): void {
    const l = this.links.get(linkId);
    if (!l) throw new BpfError(Errno.ENOENT, `no link ${linkId}`);
    hookEdit(this.arena, this.tableOff, l.hookId, (progs, links) => {
      const i = links.indexOf(linkId);
      if (i >= 0) {
        progs.splice(i, 1);
        links.splice(i, 1);
      }
    });
    this.links.delete(linkId);
  }

  get(linkId: number): Link | undefined {
    return this.links.get(linkId);
  }

  list(): Link[] {
    return [...this.links.values()];
  }
}
