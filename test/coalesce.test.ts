import { describe, expect, it } from 'vitest';
import { coalescing } from '../src/runtime/coalesce.js';

describe('coalescing (group commit)', () => {
  it('sends a lone item at once and the items that arrive during a flush together in the next one', async () => {
    const flushes: number[][] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => { release = r; });
    const add = coalescing(async (items: number[]) => {
      flushes.push(items);
      if (flushes.length === 1) await gate;
    });
    const first = add(1);
    const rest = [2, 3, 4].map((n) => add(n));
    expect(flushes).toEqual([[1]]);
    release();
    await Promise.all([first, ...rest]);
    expect(flushes).toEqual([[1], [2, 3, 4]]);
  });

  it('caps a batch and fails every caller of a failed flush, not the others', async () => {
    const flushes: number[][] = [];
    const add = coalescing(async (items: number[]) => {
      flushes.push(items);
      await new Promise((r) => setTimeout(r, 5));
      if (items.includes(3)) throw new Error('redis said no');
    }, 2);
    const results = await Promise.allSettled([1, 2, 3, 4, 5].map((n) => add(n)));
    expect(flushes).toEqual([[1], [2, 3], [4, 5]]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'rejected', 'fulfilled', 'fulfilled']);
  });
});
