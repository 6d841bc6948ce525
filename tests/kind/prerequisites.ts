/**
 * What `make e2e-kind` needs before it starts anything: a Docker engine (not
 * just the client), kind and kubectl, and umoci for the scenario image.
 *
 * @module
 */

/** One missing prerequisite, named for the operator. */
export interface Missing {
  readonly tool: string;
  readonly why: string;
}

/**
 * The prerequisites that are missing.
 *
 * @returns An empty list when everything is there.
 */
export async function missingPrerequisites(): Promise<Missing[]> {
  const missing: Missing[] = [];
  if (!await _runs("docker", ["--version"])) {
    missing.push({ tool: "docker", why: "the docker client is not on PATH" });
  } else if (!await _runs("docker", ["info", "--format", "{{.ServerVersion}}"])) {
    missing.push({ tool: "docker engine", why: "`docker info` cannot reach a Docker engine" });
  }
  if (!await _runs("kind", ["version"])) {
    missing.push({ tool: "kind", why: "not on PATH (https://kind.sigs.k8s.io)" });
  }
  if (!await _runs("kubectl", ["version", "--client"])) {
    missing.push({ tool: "kubectl", why: "not on PATH" });
  }
  if (!await _runs("umoci", ["--version"])) {
    missing.push({ tool: "umoci", why: "builds the scenario image: run make system-deps" });
  }
  return missing;
}

async function _runs(command: string, args: string[]): Promise<boolean> {
  try {
    const out = await new Deno.Command(command, {
      args,
      stdin: "null",
      stdout: "null",
      stderr: "null",
      signal: AbortSignal.timeout(20_000),
    }).output();
    return out.success;
  } catch {
    return false;
  }
}
