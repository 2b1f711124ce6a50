import assert from "node:assert/strict";

export interface EvalOptions {
  /** Environment variables added for the child. */
  readonly env?: Record<string, string>;
  /** A command the child runs under, e.g. `["taskset", "-c", "0"]`. */
  readonly under?: readonly string[];
}

/**
 * Runs `script` in a process of its own (`deno eval`), so that what it changes (thread
 * policies, CPUs, a library not found) stays out of the test runner, and returns the JSON
 * it printed, with its stderr for messages. A child that fails fails the test, with its
 * stderr.
 */
export async function evalJson<T>(
  script: string,
  options: EvalOptions = {},
): Promise<{ value: T; stderr: string }> {
  const argv = [...(options.under ?? []), Deno.execPath(), "eval", "--quiet", script];
  const out = await new Deno.Command(argv[0], {
    args: argv.slice(1),
    env: options.env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 0, stderr);
  return { value: JSON.parse(new TextDecoder().decode(out.stdout)), stderr };
}
