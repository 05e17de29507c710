import React, { useCallback, useEffect, useRef, useState } from 'react';

function Caption({ text }: { text: string }): JSX.Element {
  return <h4 className="toolbar__caption">{text}</h4>;
}

type ToolbarProps = { url: string; label?: string; caption: string };

export const Toolbar = (props: ToolbarProps) => {
  const { url, label, caption } = props;
  const [shared, setShared] = useState(false);
  const resetTimer = useRef<number | undefined>(undefined);
  const onShare = useCallback(async () => {
    await navigator.clipboard.writeText(url);
    setShared(true);
    resetTimer.current = window.setTimeout(() => setShared(false), 1500);
  }, [url]);

  useEffect(() => () => window.clearTimeout(resetTimer.current), []);

  return (
    <div className="toolbar">
      <button
        type="button"
        className={shared ? 'share share--done' : 'share'}
        aria-live="polite"
        title={shared ? 'Link copied' : `Copy a link to ${url}`}
        onClick={onShare}>
        <span className="share__icon" aria-hidden="true">{shared ? '✓' : '⧉'}</span>
        <span className="share__label">{shared ? 'Copied' : label ?? 'Share'}</span>
      </button>
      <Caption text={caption} />
    </div>
  );
};
