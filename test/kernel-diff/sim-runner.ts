/**
 * Runs a mapsys script (see mapsys.c for the protocol) on a bpfsim process
 * and prints exactly what mapsys prints on the real kernel.
 */
import { BpfCmd, type Process } from "@bpfsim/core";

const unhex = (s: string): Uint8Array | null => {
  if (s === "-") return null;
  const out = new Uint8Array(s.length >> 1);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(s.slice(2 * i, 2 * i + 2), 16);
  return out;
};
const hex = (b: Uint8Array, n: number): string => {
  if (n === 0) return "-";
  let s = "";
  for (let i = 0; i < n; i++) s += b[i]!.toString(16).padStart(2, "0");
  return s;
};

/** Executes `script` (one command per line) and returns one output line per command. */
export function runOnSim(p: Process, script: string[]): string[] {
  const fds: number[] = [];
  const fdOf = (h: string): number => fds[Number(h)] ?? -1;
  const out: string[] = [];
  for (const line of script) {
    const [op, ...a] = line.trim().split(/\s+/);
    switch (op) {
      case "create": {
        const [t, ks, vs, mx, fl, name] = a;
        const r = p.bpf(BpfCmd.MapCreate, {
          mapType: Number(t), keySize: Number(ks), valueSize: Number(vs), maxEntries: Number(mx),
          mapFlags: Number(fl), mapName: name ?? "",
        });
        fds.push(r < 0 ? -1 : r);
        out.push(String(r < 0 ? r : 0));
        break;
      }
      case "update":
        out.push(String(p.bpf(BpfCmd.MapUpdateElem, { mapFd: fdOf(a[0]!), key: unhex(a[1]!), value: unhex(a[2]!), flags: Number(a[3]) })));
        break;
      case "lookup":
      case "lookup_and_delete": {
        const vs = Number(a[2]);
        const value = new Uint8Array(vs);
        const cmd = op === "lookup" ? BpfCmd.MapLookupElem : BpfCmd.MapLookupAndDeleteElem;
        const r = p.bpf(cmd, { mapFd: fdOf(a[0]!), key: unhex(a[1]!), value, flags: Number(a[3]) });
        out.push(`${r} ${hex(value, r === 0 ? vs : 0)}`);
        break;
      }
      case "delete":
        out.push(String(p.bpf(BpfCmd.MapDeleteElem, { mapFd: fdOf(a[0]!), key: unhex(a[1]!) })));
        break;
      case "next": {
        const ks = Number(a[2]);
        const nextKey = new Uint8Array(ks);
        const r = p.bpf(BpfCmd.MapGetNextKey, { mapFd: fdOf(a[0]!), key: unhex(a[1]!), nextKey });
        out.push(`${r} ${hex(nextKey, r === 0 ? ks : 0)}`);
        break;
      }
      case "lookup_batch":
      case "lookup_and_delete_batch": {
        const [h, inb, cnt, ks, vs, ef, bf] = a.map((x, i) => (i === 1 ? x : Number(x))) as [number, string, number, number, number, number, number];
        const attr = {
          mapFd: fdOf(String(h)), inBatch: unhex(inb), outBatch: new Uint8Array(ks), keys: new Uint8Array(cnt * ks),
          values: new Uint8Array(cnt * vs), count: cnt, elemFlags: ef, flags: bf,
        };
        const cmd = op === "lookup_batch" ? BpfCmd.MapLookupBatch : BpfCmd.MapLookupAndDeleteBatch;
        const r = p.bpf(cmd, attr);
        const c = attr.count;
        out.push(`${r} ${c} ${hex(attr.keys, c * ks)} ${hex(attr.values, c * vs)} ${hex(attr.outBatch, c ? ks : 0)}`);
        break;
      }
      case "update_batch": {
        const attr = { mapFd: fdOf(a[0]!), keys: unhex(a[1]!), values: unhex(a[2]!), count: Number(a[3]), elemFlags: Number(a[4]), flags: Number(a[5]) };
        const r = p.bpf(BpfCmd.MapUpdateBatch, attr);
        out.push(`${r} ${attr.count}`);
        break;
      }
      case "delete_batch": {
        const attr = { mapFd: fdOf(a[0]!), keys: unhex(a[1]!), count: Number(a[2]), elemFlags: Number(a[3]), flags: Number(a[4]) };
        const r = p.bpf(BpfCmd.MapDeleteBatch, attr);
        out.push(`${r} ${attr.count}`);
        break;
      }
      case "freeze":
        out.push(String(p.bpf(BpfCmd.MapFreeze, { mapFd: fdOf(a[0]!) })));
        break;
      case "info": {
        const attr = { bpfFd: fdOf(a[0]!), info: new Uint8Array(88), infoLen: 88 };
        const r = p.bpf(BpfCmd.ObjGetInfoByFd, attr);
        const dv = new DataView(attr.info.buffer);
        const end = attr.info.indexOf(0, 24);
        const name = String.fromCharCode(...attr.info.subarray(24, end < 0 || end > 40 ? 40 : end)) || "-";
        out.push(`${r} ${[0, 8, 12, 16, 20].map((o) => dv.getUint32(o, true)).join(" ")} ${name}`);
        break;
      }
      default:
        out.push("?");
    }
  }
  return out;
}
