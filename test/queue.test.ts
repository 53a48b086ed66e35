import { describe, expect, it } from 'vitest';
import { RingQueue } from '../src/queue.js';

describe('RingQueue', () => {
  it('keeps FIFO order across wrap-around', () => {
    const q = new RingQueue<number>(3);
    q.push(1);
    q.push(2);
    expect(q.shift(1)).toEqual([1]);
    q.push(3);
    q.push(4);
    expect(q.size).toBe(3);
    expect(q.shift(10)).toEqual([2, 3, 4]);
    expect(q.size).toBe(0);
  });

  it('refuses a push when full and keeps what it had', () => {
    const q = new RingQueue<string>(2);
    expect(q.push('a')).toBe(true);
    expect(q.push('b')).toBe(true);
    expect(q.full).toBe(true);
    expect(q.push('c')).toBe(false);
    expect(q.drain()).toEqual(['a', 'b']);
  });

  it('pops the newest item from the tail', () => {
    const q = new RingQueue<number>(3);
    q.push(1);
    q.shift(1);
    q.push(2);
    q.push(3);
    q.push(4);
    expect(q.pop()).toBe(4);
    expect(q.drain()).toEqual([2, 3]);
    expect(q.pop()).toBeUndefined();
  });

  it('rejects a capacity below 1 with a message naming it', () => {
    expect(() => new RingQueue(0)).toThrow(/`capacity`.*≥ 1.*`0`/);
  });
});
