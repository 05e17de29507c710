import React, { useMemo, useState } from "react";

type Photo = { id: number; url: string; caption: string; tags: string[] };

export function PhotoGallery({ photos, onSelect }: { photos: Photo[]; onSelect: (p: Photo) => void }) {
  const [query, setQuery] = useState("");
  const [selectedTag, setSelectedTag] = useState<string | null>(null);
  const allTags = useMemo(() => Array.from(new Set(photos.flatMap((p) => p.tags))).sort(), [photos]);
  const shown = photos.filter(
    (p) => p.caption.toLowerCase().includes(query.toLowerCase()) && (selectedTag === null || p.tags.includes(selectedTag))
  );
  return (
    <section className="gallery">
      <div className="gallery-toolbar">
        <input
          type="search"
          value={query}
          placeholder="Search captions"
          onChange={(event) => setQuery(event.target.value)}
        />
        {allTags.map((tag) => (
          <button
            key={tag}
            className={tag === selectedTag ? "tag tag-active" : "tag"}
            onClick={() => setSelectedTag(tag === selectedTag ? null : tag)}
          >
            #{tag}
          </button>
        ))}
      </div>
      <div className="gallery-grid">
        {shown.map((photo) => (
          <figure key={photo.id} className="gallery-item" onClick={() => onSelect(photo)}>
            <img src={photo.url} alt={photo.caption} loading="lazy" width={240} height={180} />
            <figcaption>
              {photo.caption}
              <span className="gallery-tags">{photo.tags.join(", ")}</span>
            </figcaption>
          </figure>
        ))}
      </div>
      {shown.length === 0 && <p className="gallery-empty">No photos match your search.</p>}
    </section>
  );
}
