import { describe, expect, it } from "vitest";
import { rssInput, rssQueue, toeplitzHash } from "./rss.js";
import { PacketGenerator } from "./packets.js";

const ip = (s: string) => Uint8Array.from(s.split(".").map(Number));

describe("RSS", () => {
  // Verification vectors of Microsoft's RSS specification (default key).
  it("matches the Toeplitz verification suite for IPv4", () => {
    const cases: [string, number, string, number, number, number][] = [
      ["66.9.149.187", 2794, "161.142.100.80", 1766, 0x323e8fc2, 0x51ccc178],
      ["199.92.111.2", 14230, "65.69.140.83", 4739, 0xd718262a, 0xc626b0ea],
      ["24.19.198.95", 12898, "12.22.207.184", 38024, 0xd2d0a5de, 0x5c2b394a],
    ];
    for (const [src, sport, dst, dport, l3, l4] of cases) {
      expect(toeplitzHash(rssInput(ip(src), ip(dst)))).toBe(l3);
      expect(toeplitzHash(rssInput(ip(src), ip(dst), sport, dport))).toBe(l4);
    }
  });

  it("spreads flows over every queue and keeps a flow on one", () => {
    const gen = new PacketGenerator({ seed: 3, flows: 256 });
    const seen = new Set(gen.flows.map((f) => rssQueue(f.hash, 4)));
    expect([...seen].sort()).toEqual([0, 1, 2, 3]);
    const batches = gen.batch(1, 2000, 4, 1);
    for (let q = 0; q < 4; q++) for (const e of batches[q]!) expect(Number(e.arg0! & 0xffffffffn)).toBe(q);
  });

  it("is deterministic from its seed", () => {
    const a = new PacketGenerator({ seed: 9, flows: 16 }).batch(1, 100, 2);
    const b = new PacketGenerator({ seed: 9, flows: 16 }).batch(1, 100, 2);
    expect(a.map((l) => l.map((e) => e.arg0))).toEqual(b.map((l) => l.map((e) => e.arg0)));
  });
});
