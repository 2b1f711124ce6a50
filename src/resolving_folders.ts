/**
 * The folders whose entries decide which file a path names: the folder of each link met
 * on the way (swapping a link is a rename in its folder) and the folder the path ends in.
 * Watching these sees every way a file at the path can change: written where it lies,
 * renamed over, or a link on the way pointed elsewhere (a Kubernetes ConfigMap's `..data`,
 * a deploy's `current` folder).
 */
import { isAbsolute, join, resolve } from "node:path";

/** Links followed before giving up, as the kernel's ELOOP does. */
const MAX_LINKS = 40;

/**
 * The folders `path` resolves through, the last being where the file is (or would be).
 * Where a part is missing, the folder it would be made in ends the list: its making is an
 * entry there.
 */
export function resolvingFolders(path: string): string[] {
  const folders = new Set<string>();
  let rest = resolve(path).split("/").filter((part) => part !== "");
  let at = "/";
  for (let links = 0; rest.length > 0;) {
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
    const from = isAbsolute(target) ? resolve(target) : resolve(at, target);
    rest = [...from.split("/").filter((part) => part !== ""), ...rest.slice(1)];
    at = "/";
  }
  folders.delete(at);
  return [...folders, at];
}
