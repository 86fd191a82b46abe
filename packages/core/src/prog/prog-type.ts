/**
 * Per program type: context layout, which context accesses the verifier
 * allows and what they yield, and which helpers the type may call (the
 * kernel's `bpf_verifier_ops`). One file per program type under `prog/types/`,
 * indexed by Linux's prog type number in `prog/registry.ts`.
 *
 * Pointers are arena offsets and fit in 32 bits, so context structures are
 * laid out exactly as the UAPI declares them (`__sk_buff.data` is a u32 that
 * holds the packet's arena address). Where Linux rewrites a context access
 * into a load from the kernel's private structure, bpfsim stores the
 * user-visible value directly; `convertCtxAccess` exists for the fields where
 * that is not enough (64-bit pointers in `bpf_perf_event_data`, for example).
 */

/** What a valid context access yields to the verifier. */
export type CtxFieldKind =
  | "scalar"
  | "pkt" // PTR_TO_PACKET (data)
  | "pkt_meta" // PTR_TO_PACKET_META (data_meta)
  | "pkt_end" // PTR_TO_PACKET_END (data_end)
  | "sock" // PTR_TO_SOCK_COMMON_OR_NULL etc.
  | "ctx";

export interface CtxAccess {
  kind: CtxFieldKind;
}

export interface ProgTypeOps {
  readonly progType: number;
  /** Name used in section names and logs: "xdp", "socket_filter", ... */
  readonly name: string;
  /** Size of the context structure the program sees (sizeof(struct xdp_md) = 24). */
  readonly ctxSize: number;
  /** Verifier: is a load (`write` false) or store of `size` bytes at `off` allowed? null if not. */
  ctxAccess(off: number, size: number, write: boolean): CtxAccess | null;
  /**
   * Whether helper `id` may be called from this program type (its allow-list).
   * `privileged` (default true) is false for a program loaded without
   * CAP_BPF/CAP_PERFMON, which narrows the base set as in Linux.
   */
  helperAllowed(id: number, privileged?: boolean): boolean;
  /** Whether this type may read and write packet data directly. */
  readonly directPacketAccess: boolean;
}
