export interface Rgb {
  r: number;
  g: number;
  b: number;
}

// Accepts "#abc" or "#aabbcc" and returns the colour channels.
export function hexToRgb(hex: string): Rgb | null {
  let body = hex.startsWith('#') ? hex.slice(1) : hex;
  if (body.length === 3) {
    body = body
      .split('')
      .map((digit) => digit + digit)
      .join('');
  }
  if (!/^[0-9a-fA-F]{6}$/.test(body)) {
    return null;
  }
  const value = parseInt(body, 16);
  return { r: (value >> 16) & 0xff, g: (value >> 8) & 0xff, b: value & 0xff };
}

export function toSeconds(text: string): number
{
  const table: Record<string, number> = { h: 3600, m: 60, s: 1 };
  let acc = 0;
  let pending = '';
  for (const x of text.trim())
  {
    if (x >= '0' && x <= '9') { pending += x; continue; }
    const mult = table[x];
    if (mult === undefined || pending.length === 0) {
      throw new Error(`bad duration: ${text}`);
    }
    acc += parseInt(pending, 10) * mult;
    pending = '';
  }
  if (pending.length > 0) { acc += parseInt(pending, 10); }
  return acc;
}

export class RateLimiter {
  private readonly stamps: number[] = [];

  constructor(private readonly maxCalls: number, private readonly periodSeconds: number) {}

  allow(nowSeconds: number): boolean {
    while (this.stamps.length > 0 && nowSeconds - this.stamps[0] >= this.periodSeconds) {
      this.stamps.shift();
    }
    if (this.stamps.length >= this.maxCalls) {
      return false;
    }
    this.stamps.push(nowSeconds);
    return true;
  }
}

export function describeLimit(limiter: RateLimiter, window: string): string {
  const seconds = toSeconds(window);
  let granted = 0;
  for (let t = 0; t < seconds; t += 5) {
    if (limiter.allow(t)) {
      granted += 1;
    }
  }
  return `granted ${granted} calls over ${seconds}s`;
}
