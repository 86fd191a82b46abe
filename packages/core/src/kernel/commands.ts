/**
 * Registers the map and object commands in the bpf() dispatch table, one
 * line each, unpacking `bpf_attr` into the functions that implement them.
 * Imported for its side effect by kernel.ts.
 */
import { BpfCmd } from "../uapi.js";
import { ObjKind } from "./layout.js";
import { mapBatch } from "./map-batch.js";
import {
  mapDeleteElem, mapFreeze, mapGetNextKey, mapLookupAndDeleteElem, mapLookupElem, mapUpdateElem,
} from "./map-cmds.js";
import { mapCreate } from "./map-create.js";
import { objGet, objGetFdById, objGetInfoByFd, objGetNextId, objPin } from "./obj-cmds.js";
import { registerBpfCommand as reg } from "./syscall.js";

reg(BpfCmd.MapCreate, mapCreate);
reg(BpfCmd.MapLookupElem, (p, a) => mapLookupElem(p, a.mapFd, a.key, a.value, a.flags ?? 0));
reg(BpfCmd.MapUpdateElem, (p, a) => mapUpdateElem(p, a.mapFd, a.key, a.value, a.flags ?? 0));
reg(BpfCmd.MapDeleteElem, (p, a) => mapDeleteElem(p, a.mapFd, a.key));
reg(BpfCmd.MapGetNextKey, (p, a) => mapGetNextKey(p, a.mapFd, a.key, a.nextKey));
reg(BpfCmd.MapLookupAndDeleteElem, (p, a) => mapLookupAndDeleteElem(p, a.mapFd, a.key, a.value, a.flags ?? 0));
reg(BpfCmd.MapLookupBatch, (p, a) => mapBatch(p, BpfCmd.MapLookupBatch, a));
reg(BpfCmd.MapLookupAndDeleteBatch, (p, a) => mapBatch(p, BpfCmd.MapLookupAndDeleteBatch, a));
reg(BpfCmd.MapUpdateBatch, (p, a) => mapBatch(p, BpfCmd.MapUpdateBatch, a));
reg(BpfCmd.MapDeleteBatch, (p, a) => mapBatch(p, BpfCmd.MapDeleteBatch, a));
reg(BpfCmd.MapFreeze, (p, a) => mapFreeze(p, a.mapFd));
reg(BpfCmd.ObjPin, objPin);
reg(BpfCmd.ObjGet, objGet);
reg(BpfCmd.MapGetNextId, (p, a) => objGetNextId(p, ObjKind.Map, a));
reg(BpfCmd.ProgGetNextId, (p, a) => objGetNextId(p, ObjKind.Prog, a));
reg(BpfCmd.LinkGetNextId, (p, a) => objGetNextId(p, ObjKind.Link, a));
reg(BpfCmd.MapGetFdById, (p, a) => objGetFdById(p, ObjKind.Map, a));
reg(BpfCmd.ProgGetFdById, (p, a) => objGetFdById(p, ObjKind.Prog, a));
reg(BpfCmd.LinkGetFdById, (p, a) => objGetFdById(p, ObjKind.Link, a));
reg(BpfCmd.ObjGetInfoByFd, objGetInfoByFd);
