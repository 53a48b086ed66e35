import { describe, expect, it } from 'vitest';
import { RingQueue } from '../src/core/queue.js';

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

describe('RingQueue edges', () => {
  it('accepts a capacity of exactly 1 and holds one item', () => {
    const q = new RingQueue<string>(1);
    expect(q.push('a')).toBe(true);
    expect(q.push('b')).toBe(false);
    expect(q.drain()).toEqual(['a']);
  });

  it('leaves an empty queue empty and usable after a pop', () => {
    const q = new RingQueue<number>(3);
    expect(q.pop()).toBeUndefined();
    expect(q.size).toBe(0);
    q.push(1);
    expect(q.size).toBe(1);
    expect(q.shift(5)).toEqual([1]);
  });

  it('refuses a negative count with a RangeError and keeps every item', () => {
    const q = new RingQueue<number>(3);
    q.push(1);
    q.push(2);
    expect(() => q.shift(-1)).toThrow(RangeError);
    expect(q.size).toBe(2);
    expect(q.drain()).toEqual([1, 2]);
  });
});

describe('RingQueue.at', () => {
  it('reads from the head without removing, and is undefined at and past the tail, even when full', () => {
    const q = new RingQueue<string>(3);
    q.push('a');
    q.push('b');
    q.push('c');
    expect([q.at(0), q.at(1), q.at(2)]).toEqual(['a', 'b', 'c']);
    expect(q.at(3)).toBeUndefined();
    expect(q.at(4)).toBeUndefined();
    expect(q.size).toBe(3);
    q.shift(1);
    q.push('d');
    expect([q.at(0), q.at(2)]).toEqual(['b', 'd']);
    expect(q.at(3)).toBeUndefined();
  });
});
