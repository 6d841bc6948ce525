/**
 * The two CRI messages the containerd source exchanges, on the wire: a
 * `ContainerStatusRequest` to encode and a `ContainerStatusResponse` to
 * decode (k8s.io/cri-api pkg/apis/runtime/v1/api.proto), protobuf in a gRPC
 * length-prefixed frame. Only what is needed is read: the response's
 * `info` map; every other field is skipped by its wire type. Anything
 * malformed throws: the caller fails closed.
 *
 * @module
 */

/**
 * A `ContainerStatusRequest { string container_id = 1; bool verbose = 2; }`
 * in a gRPC frame (uncompressed).
 *
 * @param containerId The container id.
 * @returns The frame.
 *
 * @example
 * ```ts
 * import { deepEqual } from "assert";
 * import { containerStatusRequest } from "./cri_wire.ts";
 *
 * deepEqual([...containerStatusRequest("c1")], [0, 0, 0, 0, 6, 10, 2, 99, 49, 16, 1]);
 * ```
 */
export function containerStatusRequest(containerId: string): Uint8Array<ArrayBuffer> {
  const id = new TextEncoder().encode(containerId);
  const message = [0x0a, ..._varint(id.length), ...id, 0x10, 0x01];
  return new Uint8Array([0, ..._u32(message.length), ...message]);
}

/**
 * The `info` map of a gRPC-framed `ContainerStatusResponse`
 * (`ContainerStatus status = 1; map<string, string> info = 2;`).
 *
 * @param frame The response body: one gRPC frame.
 * @returns The map's entries.
 * @throws {Error} When the frame or the message is malformed or compressed.
 *
 * @example
 * ```ts
 * import { deepEqual } from "assert";
 * import { containerStatusInfo } from "./cri_wire.ts";
 *
 * // info { key: "info", value: "{}" }
 * const entry = [10, 4, 105, 110, 102, 111, 18, 2, 123, 125];
 * const message = [18, entry.length, ...entry];
 * const frame = new Uint8Array([0, 0, 0, 0, message.length, ...message]);
 * deepEqual(containerStatusInfo(frame), new Map([["info", "{}"]]));
 * ```
 */
export function containerStatusInfo(frame: Uint8Array): Map<string, string> {
  if (frame.length < 5) throw new Error("the answer holds no gRPC message");
  if (frame[0] !== 0) throw new Error("the answer is compressed; none was asked for");
  const length = new DataView(frame.buffer, frame.byteOffset, frame.byteLength).getUint32(1);
  if (frame.length !== 5 + length) {
    throw new Error(`the gRPC frame says ${length} bytes and holds ${frame.length - 5}`);
  }
  const info = new Map<string, string>();
  for (const field of _fields(frame.subarray(5))) {
    if (field.number !== 2 || field.bytes === undefined) continue;
    let key = "";
    let value = "";
    for (const inner of _fields(field.bytes)) {
      if (inner.bytes === undefined) continue;
      if (inner.number === 1) key = _utf8(inner.bytes);
      if (inner.number === 2) value = _utf8(inner.bytes);
    }
    info.set(key, value);
  }
  return info;
}

interface Field {
  readonly number: number;
  /** The payload of a length-delimited field; `undefined` for the other wire types. */
  readonly bytes?: Uint8Array;
}

/** The fields of a protobuf message, in order. */
function _fields(message: Uint8Array): Field[] {
  const fields: Field[] = [];
  let at = 0;
  const varint = () => {
    let value = 0;
    for (let shift = 0; shift < 64; shift += 7) {
      if (at >= message.length) throw new Error("a protobuf varint is cut off");
      const byte = message[at++]!;
      // Field lengths and tags fit 2^53; larger varints are only skipped.
      if (shift < 49) value += (byte & 0x7f) * 2 ** shift;
      if ((byte & 0x80) === 0) return value;
    }
    throw new Error("a protobuf varint is longer than 10 bytes");
  };
  while (at < message.length) {
    const tag = varint();
    const number = Math.floor(tag / 8);
    if (number === 0) throw new Error("a protobuf field has number 0");
    switch (tag % 8) {
      case 0:
        varint();
        fields.push({ number });
        break;
      case 1:
        at += 8;
        fields.push({ number });
        break;
      case 2: {
        const length = varint();
        if (at + length > message.length) throw new Error("a protobuf field is cut off");
        fields.push({ number, bytes: message.subarray(at, at + length) });
        at += length;
        break;
      }
      case 5:
        at += 4;
        fields.push({ number });
        break;
      default:
        throw new Error(`protobuf wire type ${tag % 8} is not one this message has`);
    }
    if (at > message.length) throw new Error("a protobuf field is cut off");
  }
  return fields;
}

function _utf8(bytes: Uint8Array): string {
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new Error("an info string is not UTF-8");
  }
}

function _varint(value: number): number[] {
  const bytes: number[] = [];
  while (value > 0x7f) {
    bytes.push((value & 0x7f) | 0x80);
    value = Math.floor(value / 128);
  }
  bytes.push(value);
  return bytes;
}

function _u32(value: number): number[] {
  return [(value >>> 24) & 0xff, (value >>> 16) & 0xff, (value >>> 8) & 0xff, value & 0xff];
}
