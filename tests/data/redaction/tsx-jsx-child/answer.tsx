import React from "react";

export function CardList({ cards, title }: { cards: { id: string; name: string }[]; title: string }) {
  const count = cards.length;
  const total = cards.reduce((sum, c) => sum + c.name.length, 0);
  if (count === 0) {
    throw new Error("no cards at all");
  }
  return (
    <article>
      <h2>{title}</h2>
      <ul>
        {count * 2 + 1} items
        {shown.map((photo) => (
          <figure key={photo.id} className="gallery-item" onClick={() => onSelect(photo)}>
            <img src={photo.url} alt={photo.caption} loading="lazy" width={240} height={180} />
            <figcaption>
              {photo.caption}
              <span className="gallery-tags">{photo.tags.join(", ")}</span>
            </figcaption>
          </figure>
        ))}
        Total length: {total}
      </ul>
    </article>
  );
}
