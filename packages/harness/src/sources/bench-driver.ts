/**
 * What the kernel benchmark driver does before it times a bench program:
 * the test packet and the map prefill. The program benchmark (bench/) and
 * the end-to-end tests (test/bench-progs) both set up this way, so their
 * figures and Linux's are for the same input and map contents.
 *
 * Context: user space (syscalls from any thread).
 */
import { BPF_ANY, type Process } from "@bpfsim/core";
import type { Collection } from "@bpfsim/loader";
import { ipv4Checksum } from "./packets.js";

/** The driver's 64-byte Ethernet/IPv4/UDP frame, 10.0.0.1:12345 -> 10.1.2.3:4242. */
export function benchPacket(): Uint8Array {
  const pkt = new Uint8Array(64);
  pkt.set([2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00]);
  const ip = pkt.subarray(14, 34);
  ip.set([0x45, 0, 0, 50, 0x12, 0x34, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 1, 2, 3]);
  const sum = ipv4Checksum(ip, 0);
  ip[10] = sum >> 8;
  ip[11] = sum & 0xff;
  const udp = pkt.subarray(34);
  udp.set([12345 >> 8, 12345 & 0xff, 4242 >> 8, 4242 & 0xff, 0, 30]);
  for (let i = 8; i < 30; i++) udp[i] = 97 + i;
  return pkt;
}

/** setup_hash and setup_lpm of the driver, for whichever of their maps (hmap, routes) the collection has. */
export function prefillBenchMaps(p: Process, col: Collection): void {
  const hmap = col.maps["hmap"];
  if (hmap) {
    for (let k = 0; k < 1024; k++) {
      const v = new Uint8Array(8);
      new DataView(v.buffer).setBigUint64(0, BigInt(k), true);
      p.mapUpdate(hmap.fd, new Uint8Array(new Uint32Array([k]).buffer), v, BPF_ANY);
    }
  }
  const routes = col.maps["routes"];
  if (routes) {
    // LPM keys: u32 prefix length, then the IPv4 address in network order.
    const add = (a: string, plen: number, nh: number) => {
      const k = new Uint8Array(8);
      new DataView(k.buffer).setUint32(0, plen, true);
      k.set(a.split(".").map(Number), 4);
      p.mapUpdate(routes.fd, k, new Uint8Array(new Uint32Array([nh]).buffer), BPF_ANY);
    };
    add("0.0.0.0", 0, 1);
    add("10.0.0.0", 8, 2);
    add("10.1.0.0", 16, 3);
    add("10.1.2.0", 24, 4);
    add("10.1.2.3", 32, 5);
    add("192.168.0.0", 16, 6);
    for (let i = 0; i < 256; i++) {
      add(`172.16.${i}.0`, 24, 100 + i);
      add(`10.${i}.0.0`, 20, 400 + i);
    }
  }
}
