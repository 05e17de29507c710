'use strict';

const DEFAULT_DELIMITER = ',';

// Splits one CSV row, honouring double quotes and "" escapes inside quoted fields.
function parseCsvRow(line, delimiter = DEFAULT_DELIMITER) {
  const fields = [];
  let current = '';
  let inQuotes = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (inQuotes) {
      if (ch === '"' && line[i + 1] === '"') {
        current += '"';
        i++;
      } else if (ch === '"') {
        inQuotes = false;
      } else {
        current += ch;
      }
    } else if (ch === '"') {
      inQuotes = true;
    } else if (ch === delimiter) {
      fields.push(current);
      current = '';
    } else {
      current += ch;
    }
  }
  fields.push(current);
  return fields;
}

// Classic two-row dynamic programme for the Levenshtein distance.
function editDistance(source, target) {
  const rows = source.length + 1;
  const cols = target.length + 1;
  let previousRow = new Array(cols);
  for (let j = 0; j < cols; j++) {
    previousRow[j] = j;
  }
  for (let i = 1; i < rows; i++) {
    const currentRow = [i];
    for (let j = 1; j < cols; j++) {
      const substitution = source[i - 1] === target[j - 1] ? 0 : 1;
      currentRow[j] = Math.min(
        previousRow[j] + 1,
        currentRow[j - 1] + 1,
        previousRow[j - 1] + substitution
      );
    }
    previousRow = currentRow;
  }
  return previousRow[cols - 1];
}

function bucketize(values, bucketWidth) {
  const histogram = new Map();
  let minKey = Infinity;
  let maxKey = -Infinity;
  for (const value of values) {
    if (typeof value !== 'number' || Number.isNaN(value)) {
      continue;
    }
    const key = Math.floor(value / bucketWidth) * bucketWidth;
    histogram.set(key, (histogram.get(key) || 0) + 1);
    minKey = Math.min(minKey, key);
    maxKey = Math.max(maxKey, key);
  }
  const rows = [];
  for (let k = minKey; k <= maxKey; k += bucketWidth) {
    rows.push({ start: k, count: histogram.get(k) || 0 });
  }
  return rows;
}

class ExpiringCache {
  constructor(limit, ttlMs) {
    this.limit = limit;
    this.ttlMs = ttlMs;
    this.entries = new Map();
  }

  set(key, value, now = Date.now()) {
    for (const [storedKey, entry] of this.entries) {
      if (entry.expires <= now) {
        this.entries.delete(storedKey);
      }
    }
    this.entries.delete(key);
    while (this.entries.size > 0 && this.entries.size >= this.limit) {
      const oldest = this.entries.keys().next().value;
      this.entries.delete(oldest);
    }
    this.entries.set(key, { value, expires: now + this.ttlMs });
  }
}

module.exports = { parseCsvRow, editDistance, bucketize, ExpiringCache };
