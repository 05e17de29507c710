import { readFileSync } from 'fs'
import path from 'path'
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

export function closestWordIn(file, word) {
  const words = readFileSync(path.resolve(file), 'utf8').split(/\s+/)
  let best = null
  let bestScore = Infinity
  for (const candidate of words) {
    const score = stringGap(word, candidate)
    if (score < bestScore) {
      best = candidate
      bestScore = score
    }
  }
  return best
}
