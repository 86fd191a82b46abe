/**
 * A seeded packet generator: flows of Ethernet frames carrying IPv4 or IPv6,
 * and UDP or TCP, with per-flow sizes, spread over CPUs by RSS (rss.ts).
 * Flow popularity is skewed (flow = floor(n * u^2) for uniform u), so a few
 * flows carry most packets, as on real links; the report's "top flows" then
 * has something to show. Every frame is built once per flow and reused.
 */
import { EventKind, type EventDesc } from "@bpfsim/core";
import { Rng } from "../machine/rng.js";
import { rssInput, rssQueue, toeplitzHash } from "./rss.js";

export interface PacketGenOptions {
  seed: number;
  flows?: number;
  /** Share of IPv6 flows, 0..1. Default 0.25. */
  ipv6?: number;
  /** Share of TCP flows, 0..1. Default 0.5. */
  tcp?: number;
  /** Frame sizes to draw from (bytes, 60..1514). Default an IMIX-like mix. */
  sizes?: readonly number[];
}

export interface Flow {
  id: number;
  v6: boolean;
  proto: 6 | 17;
  src: Uint8Array;
  dst: Uint8Array;
  sport: number;
  dport: number;
  size: number;
  hash: number;
  frame: Uint8Array;
}

export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;
const IMIX = [64, 64, 64, 64, 64, 64, 64, 576, 576, 576, 576, 1514] as const;

/** The IPv4 header checksum of the 20-byte header at `off` (its checksum field zero). */
export function ipv4Checksum(b: Uint8Array, off: number): number {
  let s = 0;
  for (let i = 0; i < 20; i += 2) s += (b[off + i]! << 8) | b[off + i + 1]!;
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return ~s & 0xffff;
}

/** Build one frame: Ethernet, IPv4 or IPv6, UDP or TCP, zero payload. */
export function buildFrame(f: Omit<Flow, "frame" | "hash" | "id">): Uint8Array {
  const l3 = f.v6 ? 40 : 20;
  const l4 = f.proto === IPPROTO_TCP ? 20 : 8;
  const size = Math.max(f.size, 14 + l3 + l4);
  const b = new Uint8Array(size);
  const dv = new DataView(b.buffer);
  b.set([0x02, 0, 0, 0, 0, 0x01, 0x02, 0, 0, 0, 0, 0x02], 0); // dst, src MAC (locally administered)
  dv.setUint16(12, f.v6 ? 0x86dd : 0x0800);
  const ip = 14;
  if (f.v6) {
    dv.setUint32(ip, 0x60000000);
    dv.setUint16(ip + 4, size - ip - 40);
    b[ip + 6] = f.proto;
    b[ip + 7] = 64;
    b.set(f.src, ip + 8);
    b.set(f.dst, ip + 24);
  } else {
    b[ip] = 0x45;
    dv.setUint16(ip + 2, size - ip);
    dv.setUint16(ip + 6, 0x4000); // DF
    b[ip + 8] = 64;
    b[ip + 9] = f.proto;
    b.set(f.src, ip + 12);
    b.set(f.dst, ip + 16);
    dv.setUint16(ip + 10, ipv4Checksum(b, ip));
  }
  const l4off = ip + l3;
  dv.setUint16(l4off, f.sport);
  dv.setUint16(l4off + 2, f.dport);
  if (f.proto === IPPROTO_TCP) {
    b[l4off + 12] = 5 << 4;
    b[l4off + 13] = 0x10; // ACK
    dv.setUint16(l4off + 14, 65535);
  } else {
    dv.setUint16(l4off + 4, size - l4off);
  }
  return b;
}

export class PacketGenerator {
  readonly flows: Flow[] = [];
  private readonly rng: Rng;

  constructor(o: PacketGenOptions) {
    this.rng = new Rng(o.seed);
    const n = o.flows ?? 64;
    const sizes = o.sizes ?? IMIX;
    for (let id = 0; id < n; id++) {
      const v6 = this.rng.float() < (o.ipv6 ?? 0.25);
      const proto = this.rng.float() < (o.tcp ?? 0.5) ? IPPROTO_TCP : IPPROTO_UDP;
      const addr = (len: number) => {
        const a = new Uint8Array(len);
        for (let i = 0; i < len; i++) a[i] = this.rng.below(256);
        if (len === 4) a[0] = 10; // 10.0.0.0/8
        else { a[0] = 0xfd; } // fd00::/8
        return a;
      };
      const src = addr(v6 ? 16 : 4);
      const dst = addr(v6 ? 16 : 4);
      const sport = 1024 + this.rng.below(64511);
      const dport = [53, 80, 443, 8080][this.rng.below(4)]!;
      const size = sizes[this.rng.below(sizes.length)]!;
      const frame = buildFrame({ v6, proto, src, dst, sport, dport, size });
      this.flows.push({ id, v6, proto, src, dst, sport, dport, size: frame.length, hash: toeplitzHash(rssInput(src, dst, sport, dport)), frame });
    }
  }

  /** The next flow to send a packet of (skewed towards low flow ids). */
  nextFlow(): Flow {
    const u = this.rng.float();
    return this.flows[Math.floor(u * u * this.flows.length)]!;
  }

  /**
   * `count` packet events for `hookId`, split by RSS over `ncpus` CPUs, in
   * bursts of `burst` identical frames (pktgen's clone_skb). Returns one
   * event list per CPU; arg0 carries the rx queue (low 32 bits) and the RSS
   * hash (high 32 bits).
   */
  batch(hookId: number, count: number, ncpus: number, burst = 1): EventDesc[][] {
    const out: EventDesc[][] = Array.from({ length: ncpus }, () => []);
    const tag = `${hookId}/${ncpus}`;
    if (tag !== this.cacheFor) {
      this.cache.clear();
      this.cacheFor = tag;
    }
    let left = count;
    while (left > 0) {
      const f = this.nextFlow();
      const rep = Math.min(burst, left);
      out[rssQueue(f.hash, ncpus)]!.push(this.event(f, hookId, ncpus, rep));
      left -= rep;
    }
    return out;
  }

  // Events are read-only once built (ringPush copies them), so one object per
  // (flow, hook, CPUs, burst) serves every packet of the flow.
  private readonly cache = new Map<number, EventDesc>();
  private cacheFor = "";
  private event(f: Flow, hookId: number, ncpus: number, rep: number): EventDesc {
    const key = f.id * 0x10000 + rep;
    let e = this.cache.get(key);
    if (!e) {
      const q = rssQueue(f.hash, ncpus);
      e = { hookId, kind: EventKind.Packet, repeat: rep, arg0: (BigInt(f.hash) << 32n) | BigInt(q), data: f.frame };
      this.cache.set(key, e);
    }
    return e;
  }
}
