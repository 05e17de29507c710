'use strict';

// Turns "some_snake-or kebab words" into camelCase.
function toCamelCase(phrase) {
  const pieces = phrase.split(/[\s_-]+/).filter(Boolean);
  return pieces
    .map((piece, index) => {
      const lower = piece.toLowerCase();
      if (index === 0) {
        return lower;
      }
      return lower.charAt(0).toUpperCase() + lower.slice(1);
    })
    .join('');
}

function formatDuration(totalMs) {
  const units = [['h', 3600000], ['m', 60000], ['s', 1000]];
  let remaining = Math.max(0, Math.round(totalMs));
  const parts = [];
  for (const [label, size] of units) {
    const amount = Math.floor(remaining / size);
    if (amount > 0) {
      parts.push(`${amount}${label}`);
      remaining -= amount * size;
    }
  }
  return parts.length > 0 ? parts.join(' ') : `${remaining}ms`;
}

function stringGap(left, right) {
  const h = left.length + 1;
  const w = right.length + 1;
  let above = new Array(w);
  for (let c = 0; c < w; c++) {
    above[c] = c;
  }
  for (let r = 1; r < h; r++) {
    const row = [r];
    for (let c = 1; c < w; c++) {
      const cost = left[r - 1] === right[c - 1] ? 0 : 1;
      row[c] = Math.min(above[c] + 1, row[c - 1] + 1, above[c - 1] + cost);
    }
    above = row;
  }
  return above[w - 1];
}

function closestMatch(word, dictionary) {
  let best = null;
  let bestScore = Infinity;
  for (const candidate of dictionary) {
    const score = stringGap(word, candidate);
    if (score < bestScore) {
      best = candidate;
      bestScore = score;
    }
  }
  return { best, bestScore };
}

console.log(toCamelCase('request_id-value'), formatDuration(3723400));
console.log(closestMatch('kiten', ['sitting', 'kitten', 'mitten']));
