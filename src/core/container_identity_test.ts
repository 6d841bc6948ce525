import { deepEqual, throws } from "assert";
import { containerIdentity, CRI_ANNOTATIONS } from "./container_identity.ts";
import { SpecError } from "./errors.ts";

const containerd = CRI_ANNOTATIONS.containerd;
const crio = CRI_ANNOTATIONS["cri-o"];

Deno.test("containerIdentity() reads containerd's container annotations", () => {
  deepEqual(
    containerIdentity(
      new Map([
        ["io.kubernetes.cri.container-type", "container"],
        ["io.kubernetes.cri.sandbox-namespace", "ns"],
        ["io.kubernetes.cri.sandbox-name", "pod"],
        ["io.kubernetes.cri.sandbox-uid", "u1"],
        ["io.kubernetes.cri.container-name", "c"],
        ["io.kubernetes.cri.image-name", "registry.example/app:1"],
      ]),
      containerd,
    ),
    {
      kind: "container",
      pod: {
        namespace: "ns",
        name: "pod",
        uid: "u1",
        container: "c",
        image: "registry.example/app:1",
      },
    },
  );
});

Deno.test("containerIdentity() hands containerd's sandbox off", () => {
  deepEqual(
    containerIdentity(
      new Map([
        ["io.kubernetes.cri.container-type", "sandbox"],
        ["io.kubernetes.cri.sandbox-namespace", "ns"],
        ["io.kubernetes.cri.sandbox-name", "pod"],
      ]),
      containerd,
    ).kind,
    "sandbox",
  );
});

Deno.test("containerIdentity() treats a spec without Kubernetes annotations as non-kubernetes", () => {
  deepEqual(containerIdentity(new Map([["org.opencontainers.x", "y"]]), containerd), {
    kind: "non-kubernetes",
  });
});

Deno.test("containerIdentity() under CRI-O ignores a pod author's containerd keys", () => {
  // CRI-O copies every pod annotation into the container spec; a tenant can
  // set containerd's container-type to "sandbox" but CRI-O's own key wins.
  const annotations = new Map([
    ["io.kubernetes.cri.container-type", "sandbox"],
    ["io.kubernetes.cri.sandbox-namespace", "kube-system"],
    ["io.kubernetes.cri-o.ContainerType", "container"],
    ["io.kubernetes.pod.namespace", "tenant-a"],
    ["io.kubernetes.pod.name", "app"],
    ["io.kubernetes.pod.uid", "u2"],
    ["io.kubernetes.container.name", "main"],
    ["io.kubernetes.cri.image-name", "what-the-author-says:1"],
    ["io.kubernetes.cri-o.ImageName", "registry.example/app:1"],
  ]);
  deepEqual(containerIdentity(annotations, crio), {
    kind: "container",
    pod: {
      namespace: "tenant-a",
      name: "app",
      uid: "u2",
      container: "main",
      image: "registry.example/app:1",
    },
  });
});

Deno.test("containerIdentity() under containerd is not fooled by CRI-O keys", () => {
  const annotations = new Map([
    ["io.kubernetes.cri-o.ContainerType", "sandbox"],
    ["io.kubernetes.cri.container-type", "container"],
    ["io.kubernetes.cri.sandbox-namespace", "ns"],
    ["io.kubernetes.cri.sandbox-name", "pod"],
  ]);
  deepEqual(containerIdentity(annotations, containerd).kind, "container");
});

Deno.test("containerIdentity() refuses a container without its pod or with an unknown type", () => {
  throws(
    () =>
      containerIdentity(new Map([["io.kubernetes.cri.container-type", "container"]]), containerd),
    /must both be set/,
  );
  throws(
    () =>
      containerIdentity(
        new Map([
          ["io.kubernetes.cri.container-type", "podsandbox"],
          ["io.kubernetes.cri.sandbox-namespace", "ns"],
          ["io.kubernetes.cri.sandbox-name", "pod"],
        ]),
        containerd,
      ),
    SpecError,
  );
});
