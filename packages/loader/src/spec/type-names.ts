import { AttachType, MapType, ProgType } from "@bpfsim/core";

/**
 * Lower-case names for map, program and attach types as bpftool and libbpf
 * print them (`percpu_hash`, `sched_cls`, `tcx_ingress`), derived from the
 * UAPI enums so the two cannot drift apart.
 */

const snake = (s: string) => s.replace(/([a-z0-9])([A-Z])/g, "$1_$2").toLowerCase();

/** `hash`, `lru_percpu_hash`, `ringbuf`...; `type <n>` for numbers bpfsim does not name. */
export function mapTypeName(t: number): string {
  const n = MapType[t];
  return n === undefined ? `type ${t}` : snake(n);
}

/** `socket_filter`, `xdp`, `sched_cls`... */
export function progTypeName(t: number): string {
  const n = ProgType[t];
  return n === undefined ? `type ${t}` : snake(n);
}

/** `xdp`, `tcx_ingress`, `cgroup_inet_ingress`... */
export function attachTypeName(t: number): string {
  const n = AttachType[t];
  return n === undefined ? `attach ${t}` : snake(n);
}
