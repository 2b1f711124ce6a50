/** The nice value of each thread of a process, by thread name, from /proc. */
export function threadNices(pid: number | "self"): { tid: number; name: string; nice: number }[] {
  const dir = `/proc/${pid}/task`;
  const threads = [];
  for (const entry of Deno.readDirSync(dir)) {
    try {
      const name = Deno.readTextFileSync(`${dir}/${entry.name}/comm`).trimEnd();
      const stat = Deno.readTextFileSync(`${dir}/${entry.name}/stat`);
      // Fields after the name (which may hold spaces): state is the 3rd field, nice the 19th.
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      threads.push({ tid: Number(entry.name), name, nice: Number(fields[16]) });
    } catch {
      // The thread exited meanwhile.
    }
  }
  return threads;
}
