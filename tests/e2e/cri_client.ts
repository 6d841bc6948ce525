/**
 * A small CRI client over containerd's unix socket: `@grpc/grpc-js` and
 * `@grpc/proto-loader` with the minimal `runtime.v1` proto beside this file.
 *
 * @module
 */

import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";

const PROTO = new URL("./cri.proto", import.meta.url).pathname;

type Callback = (error: grpc.ServiceError | null, response: unknown) => void;
type Stub =
  & grpc.Client
  & Record<string, (req: unknown, opts: grpc.CallOptions, cb: Callback) => void>;

/**
 * The `runtime.v1` package of the proto beside this file, as grpc-js loads it
 * (field names as in the proto, enums as their names).
 */
// deno-lint-ignore no-explicit-any
export function criProto(): any {
  const definition = protoLoader.loadSync(PROTO, {
    keepCase: true,
    longs: Number,
    enums: String,
    defaults: true,
  });
  // deno-lint-ignore no-explicit-any
  return (grpc.loadPackageDefinition(definition) as any).runtime.v1;
}

/** A CRI runtime and image client bound to one socket. */
export class CriClient {
  readonly #runtime: Stub;
  readonly #image: Stub;

  constructor(socket: string) {
    const v1 = criProto();
    const credentials = grpc.credentials.createInsecure();
    this.#runtime = new v1.RuntimeService(`unix://${socket}`, credentials);
    this.#image = new v1.ImageService(`unix://${socket}`, credentials);
  }

  /** Calls a RuntimeService method. */
  runtime<T = Record<string, unknown>>(method: string, request: unknown): Promise<T> {
    return this.#call(this.#runtime, method, request);
  }

  /** Calls an ImageService method. */
  image<T = Record<string, unknown>>(method: string, request: unknown): Promise<T> {
    return this.#call(this.#image, method, request);
  }

  close(): void {
    this.#runtime.close();
    this.#image.close();
  }

  #call<T>(stub: Stub, method: string, request: unknown): Promise<T> {
    return new Promise((resolve, reject) => {
      stub[method]!(request, { deadline: Date.now() + 120_000 }, (error, response) => {
        if (error) reject(new Error(`CRI ${method}: ${error.details || error.message}`));
        else resolve(response as T);
      });
    });
  }
}
