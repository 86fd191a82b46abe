/**
 * Receive-side scaling as NICs do it: a Toeplitz hash of the flow's
 * addresses and ports with the 40-byte key Microsoft's RSS specification
 * gives as the default (also the default of many Linux drivers), then an
 * indirection table of 128 entries mapping hash & 127 to a queue; queue q is
 * served by CPU q % ncpus, as with one queue per CPU.
 */
export const RSS_DEFAULT_KEY = Uint8Array.from([
  0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2, 0x41, 0x67, 0x25, 0x3d, 0x43, 0xa3, 0x8f, 0xb0, 0xd0, 0xca, 0x2b, 0xcb,
  0xae, 0x7b, 0x30, 0xb4, 0x77, 0xcb, 0x2d, 0xa3, 0x80, 0x30, 0xf2, 0x0c, 0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa,
]);

/** Toeplitz hash of `input` (bytes in network order) under `key` (at least input.length + 4 bytes). */
export function toeplitzHash(input: Uint8Array, key: Uint8Array = RSS_DEFAULT_KEY): number {
  let result = 0;
  // The 32-bit window of the key starting at the current input bit.
  let window = ((key[0]! << 24) | (key[1]! << 16) | (key[2]! << 8) | key[3]!) >>> 0;
  for (let i = 0; i < input.length; i++) {
    const next = key[i + 4] ?? 0;
    for (let b = 7; b >= 0; b--) {
      if ((input[i]! >> b) & 1) result = (result ^ window) >>> 0;
      window = ((window << 1) | ((next >> b) & 1)) >>> 0;
    }
  }
  return result >>> 0;
}

/** The hash input for a flow: source address, destination address, source port, destination port. */
export function rssInput(src: Uint8Array, dst: Uint8Array, sport?: number, dport?: number): Uint8Array {
  const ports = sport !== undefined && dport !== undefined;
  const out = new Uint8Array(src.length + dst.length + (ports ? 4 : 0));
  out.set(src, 0);
  out.set(dst, src.length);
  if (ports) {
    const p = src.length + dst.length;
    out[p] = sport >> 8;
    out[p + 1] = sport & 0xff;
    out[p + 2] = dport >> 8;
    out[p + 3] = dport & 0xff;
  }
  return out;
}

/** Queue for a hash through a 128-entry indirection table filled round-robin over `queues`. */
export function rssQueue(hash: number, queues: number): number {
  return (hash & 127) % queues;
}
