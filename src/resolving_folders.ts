/**
 * The folders whose entries decide which file a path names: the folder of each link met
 * on the way (swapping a link is a rename in its folder) and the folder the path ends in.
 * Watching these sees every way a file at the path can change: written where it lies,
 * renamed over, or a link on the way pointed elsewhere (a Kubernetes ConfigMap's `..data`,
 * a deploy's `current` folder).
 */
import { dirname, isAbsolute, join } from "node:path";

/** Links followed before giving up, as the kernel's ELOOP does. */
const MAX_LINKS = 40;

/** A path's parts, `.` and empty ones left out (`..` kept: it is resolved in turn). */
const partsOf = (path: string) => path.split("/").filter((part) => part !== "" && part !== ".");

/**
 * The folders `path` resolves through, the last being where the file is (or would be).
 * Where a part is missing, the folder it would be made in ends the list: its making is an
 * entry there. Resolved part by part as the kernel does: a `..` after a link leaves the
 * link's target, not the link's folder.
 */
export function resolvingFolders(path: string): string[] {
  const folders = new Set<string>();
  let rest = partsOf(isAbsolute(path) ? path : `${Deno.cwd()}/${path}`);
  // Always a path with no link in it: what `..` leaves is its parent.
  let at = "/";
  for (let links = 0; rest.length > 0;) {
    if (rest[0] === "..") {
      at = dirname(at);
      rest = rest.slice(1);
      continue;
    }
    const next = join(at, rest[0]);
    let info: Deno.FileInfo;
    try {
      info = Deno.lstatSync(next);
    } catch {
      break; // Absent, or not to be looked into: `at` is as far as the path goes.
    }
    if (!info.isSymlink) {
      if (rest.length === 1) break;
      at = next;
      rest = rest.slice(1);
      continue;
    }
    folders.add(at);
    if (++links > MAX_LINKS) return [...folders];
    const target = Deno.readLinkSync(next);
    if (isAbsolute(target)) at = "/";
    rest = [...partsOf(target), ...rest.slice(1)];
  }
  folders.delete(at);
  return [...folders, at];
}
