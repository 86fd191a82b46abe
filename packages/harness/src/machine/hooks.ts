/**
 * Naming attach points: what an eBPF developer writes (an interface and a
 * direction, a function name, a tracepoint "category:name") turned into the
 * (HookType, target) pair the hook table stores. Interfaces are numbered as
 * on a fresh Linux box (lo = 1, then eth0 = 2, ...); functions and
 * tracepoints are identified by a hash of their name (`symbolId`), the same
 * on every thread, so bpf(BPF_RAW_TRACEPOINT_OPEN) and the machine agree.
 */
import { AttachType, BpfError, Errno, HookType, symbolId } from "@bpfsim/core";

export type HookSpec =
  | { type: "xdp"; ifindex: number }
  | { type: "tc"; ifindex: number; direction: "ingress" | "egress" }
  | { type: "socket"; socket: number }
  | { type: "kprobe"; fn: string }
  | { type: "kretprobe"; fn: string }
  | { type: "tracepoint"; name: string }
  | { type: "raw_tracepoint"; name: string }
  | { type: "perf_event"; name?: string };

/** The attach type a link to this hook reports (bpf_link_info.attach_type). */
export function attachTypeFor(spec: HookSpec): number {
  switch (spec.type) {
    case "xdp":
      return AttachType.Xdp;
    case "tc":
      return spec.direction === "egress" ? AttachType.TcxEgress : AttachType.TcxIngress;
    case "raw_tracepoint":
      return AttachType.TraceRawTp;
    case "perf_event":
      return AttachType.PerfEvent;
    default:
      return 0;
  }
}

function sym(name: string): number {
  if (!name || name.length > 255) throw new BpfError(Errno.EINVAL, `bad symbol name '${name}'`);
  return symbolId(name);
}

/** (HookType, target) for a spec. */
export function hookKey(spec: HookSpec): [HookType, number] {
  switch (spec.type) {
    case "xdp":
      return [HookType.Xdp, checkIfindex(spec.ifindex)];
    case "tc":
      return [spec.direction === "egress" ? HookType.TcEgress : HookType.TcIngress, checkIfindex(spec.ifindex)];
    case "socket":
      return [HookType.SocketFilter, spec.socket >>> 0];
    case "kprobe":
      return [HookType.Kprobe, sym(spec.fn)];
    case "kretprobe":
      return [HookType.Kretprobe, sym(spec.fn)];
    case "tracepoint":
      return [HookType.Tracepoint, sym(spec.name)];
    case "raw_tracepoint":
      return [HookType.RawTracepoint, sym(spec.name)];
    case "perf_event":
      return [HookType.PerfEvent, sym(`perf:${spec.name ?? "cpu-clock"}`)];
  }
}

function checkIfindex(i: number): number {
  if (!Number.isInteger(i) || i < 1) throw new BpfError(Errno.ENODEV, `no interface with ifindex ${i}`);
  return i;
}
