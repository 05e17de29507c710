export interface TaskNode {
  id: string;
  dependsOn: string[];
}

export type Token = { kind: 'num' | 'ident' | 'op'; text: string };

// Converts specs such as "1h30m15s" or "90" into a number of seconds.
export function parseDuration(spec: string): number {
  const units: Record<string, number> = { h: 3600, m: 60, s: 1 };
  let totalSeconds = 0;
  let digits = '';
  for (const ch of spec.trim()) {
    if (ch >= '0' && ch <= '9') {
      digits += ch;
      continue;
    }
    const factor = units[ch];
    if (factor === undefined || digits.length === 0) {
      throw new Error(`bad duration: ${spec}`);
    }
    totalSeconds += parseInt(digits, 10) * factor;
    digits = '';
  }
  if (digits.length > 0) {
    totalSeconds += parseInt(digits, 10);
  }
  return totalSeconds;
}

// Kahn's algorithm: repeatedly emit tasks whose dependencies are all done.
export function orderTasks(tasks: TaskNode[]): string[] {
  const indegree = new Map<string, number>();
  const dependents = new Map<string, string[]>();
  for (const task of tasks) {
    indegree.set(task.id, task.dependsOn.length);
    for (const dep of task.dependsOn) {
      const list = dependents.get(dep) ?? [];
      list.push(task.id);
      dependents.set(dep, list);
    }
  }
  const ready: string[] = tasks.filter((t) => t.dependsOn.length === 0).map((t) => t.id);
  const ordered: string[] = [];
  while (ready.length > 0) {
    const current = ready.shift() as string;
    ordered.push(current);
    for (const follower of dependents.get(current) ?? []) {
      const remaining = (indegree.get(follower) ?? 0) - 1;
      indegree.set(follower, remaining);
      if (remaining === 0) {
        ready.push(follower);
      }
    }
  }
  if (ordered.length !== indegree.size) {
    throw new Error('dependency cycle detected');
  }
  return ordered;
}

export function smoothSeries(samples: number[], window: number): number[] {
  const output: number[] = [];
  for (let idx = 0; idx < samples.length; idx++) {
    let weightedSum = 0;
    let weightTotal = 0;
    const first = Math.max(0, idx - window + 1);
    for (let back = first; back <= idx; back++) {
      const weight = back - first + 1;
      weightedSum += samples[back] * weight;
      weightTotal += weight;
    }
    output.push(weightTotal === 0 ? 0 : weightedSum / weightTotal);
  }
  return output;
}

export function lexExpression(input: string): Token[] {
  const result: Token[] = [];
  let cursor = 0;
  while (cursor < input.length) {
    const c = input[cursor];
    if (/\s/.test(c)) {
      cursor++;
    } else if (/[0-9]/.test(c)) {
      let end = cursor;
      while (end < input.length && /[0-9.]/.test(input[end])) {
        end++;
      }
      result.push({ kind: 'num', text: input.slice(cursor, end) });
      cursor = end;
    } else if (/[A-Za-z_]/.test(c)) {
      let end = cursor;
      while (end < input.length && /\w/.test(input[end])) {
        end++;
      }
      result.push({ kind: 'ident', text: input.slice(cursor, end) });
      cursor = end;
    } else {
      result.push({ kind: 'op', text: c });
      cursor++;
    }
  }
  return result;
}
