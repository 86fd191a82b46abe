/** The kernel layer: object table, processes, bpffs, the bpf() facade. */
export * from "./attr.js";
export * from "./syscall.js";
export * from "./kernel.js";
export * from "./process.js";
export * from "./objects.js";
export * from "./map-header.js";
export * from "./bpffs.js";
export { ObjKind, MAP_HEADER_BYTES } from "./layout.js";
export { registerInfoByFd, BPF_MAP_INFO_SIZE, type InfoWriter } from "./obj-cmds.js";
export { sysValueSize, lookupInto, updateFrom } from "./map-cmds.js";
export { userOwner, fileFmode, objName } from "./map-create.js";
