/**
 * The default scenario's kernel side: maps, the XDP program (xdp-flows.ts),
 * its attachment to eth0 (ifindex 2). Shared by `pnpm start` and the
 * events benchmark.
 */
import { assemble } from "@bpfsim/loader";
import { MapType, ProgType } from "@bpfsim/core";
import type { Machine } from "../machine/machine.js";
import { FLOW_KEY_SIZE, FLOW_VALUE_SIZE, xdpFlowsAsm } from "./xdp-flows.js";

export const ETH0 = 2;

export interface PreparedScenario {
  hookId: number;
  flowsFd: number;
  configFd: number;
  eventsFd: number;
  progFd: number;
  linkFd: number;
}

/** Create the maps, load and attach the program, in the machine's process. */
export function prepareScenario(m: Machine, o: { maxFlows?: number } = {}): PreparedScenario {
  const p = m.proc;
  const flowsFd = p.mapCreate({ mapType: MapType.PercpuHash, keySize: FLOW_KEY_SIZE, valueSize: FLOW_VALUE_SIZE, maxEntries: o.maxFlows ?? 4096, mapName: "flows" });
  const configFd = p.mapCreate({ mapType: MapType.Array, keySize: 4, valueSize: 8, maxEntries: 1, mapName: "config" });
  const eventsFd = p.mapCreate({ mapType: MapType.PerfEventArray, keySize: 4, valueSize: 4, maxEntries: m.ncpus, mapName: "events" });
  const insns = assemble(xdpFlowsAsm({ flows: flowsFd, config: configFd, events: eventsFd }));
  const progFd = m.loadProgram({ progType: ProgType.Xdp, insns, name: "xdp_flows" });
  const linkFd = m.attach(progFd, { type: "xdp", ifindex: ETH0 });
  return { hookId: m.hookId({ type: "xdp", ifindex: ETH0 }), flowsFd, configFd, eventsFd, progFd, linkFd };
}
