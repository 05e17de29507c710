import React, { useEffect, useState } from "react";

type Props = { seed: string[]; title: string; onDone: (n: number) => void };

export function TaskBoard({ seed, title, onDone }: Props) {
  const [tasks, setTasks] = useState<string[]>(seed);
  const [text, setText] = useState("");
  const [filter, setFilter] = useState<"all" | "open">("all");
  useEffect(() => {
    document.title = `${title} (${tasks.length})`;
  }, [title, tasks.length]);
  const visible = filter === "all" ? tasks : tasks.filter((t) => !t.startsWith("x "));
  return (
    <main className="board">
      <header>
        <h1>{title}</h1>
        <select value={filter} onChange={(e) => setFilter(e.target.value as "all" | "open")}>
          <option value="all">All</option>
          <option value="open">Open</option>
        </select>
      </header>
      {visible.length > 0 && (
      <ul>
        {items.map((item, i) => (
          <li key={i} onClick={() => setItems(items.filter((_, j) => j !== i))}>
            {item}
          </li>
        ))}
      </ul>
      )}
      <p className="count">{items.length} items</p>
      <footer>
        <button onClick={() => onDone(visible.length)}>Finish</button>
        <small>{visible.length} shown of {tasks.length}</small>
      </footer>
    </main>
  );
}
