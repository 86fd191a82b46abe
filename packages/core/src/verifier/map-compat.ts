/**
 * Which helpers may take which map types (check_map_func_compatibility):
 * some map types only work with their own helpers, and some helpers only
 * with their own map types.
 */
import type { HelperProto } from "../helpers/proto.js";

/** Map type -> the helpers allowed to receive it; types not listed accept the generic map helpers. */
const ONLY: Record<number, readonly number[]> = {
  3: [12], // prog_array: tail_call
  4: [25, 22, 55, 111, 161], // perf_event_array: perf_event_output, perf_event_read, perf_event_read_value, skb_output, xdp_output
  7: [27, 67], // stack_trace: get_stackid, get_stack
  27: [130, 131, 134], // ringbuf: ringbuf_output, ringbuf_reserve, ringbuf_query
  22: [87, 88, 89, 2], // queue: push, pop, peek, update
  23: [87, 88, 89, 2], // stack
  30: [87, 89, 164], // bloom filter: push, peek, ...
};

/** Helper id -> map types it accepts (when restricted). */
const HELPER_MAPS: Record<number, readonly number[]> = {
  12: [3],
  25: [4],
  22: [4],
  27: [7],
  130: [27],
  131: [27],
  134: [27],
  87: [22, 23, 30],
  88: [22, 23],
  89: [22, 23, 30],
};

export function mapAllowsHelper(mapType: number, helperId: number): boolean {
  const only = ONLY[mapType];
  return !only || only.includes(helperId);
}

export function helperAllowsMap(p: HelperProto, mapType: number): boolean {
  const list = p.mapTypes ?? HELPER_MAPS[p.id];
  return !list || list.includes(mapType);
}
