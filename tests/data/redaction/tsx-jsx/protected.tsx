import React, { useState } from "react";

export function TodoList({ initial }: { initial: string[] }) {
  const [items, setItems] = useState<string[]>(initial);
  const [draft, setDraft] = useState("");
  const add = () => {
    if (draft.trim() === "") return;
    setItems([...items, draft.trim()]);
    setDraft("");
  };
  return (
    <div className="todo">
      <input value={draft} onChange={(e) => setDraft(e.target.value)} placeholder="New item" />
      <button onClick={add} disabled={draft.trim() === ""}>
        Add
      </button>
      <ul>
        {items.map((item, i) => (
          <li key={i} onClick={() => setItems(items.filter((_, j) => j !== i))}>
            {item}
          </li>
        ))}
      </ul>
      <p className="count">{items.length} items</p>
    </div>
  );
}
