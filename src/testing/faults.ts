/**
 * Injected faults: a scripted response given instead of the fake's own
 * answer to the requests that match, once or N times. Faults are checked
 * first, before the key and the body, as a proxy or an overloaded server
 * would answer.
 */
import { integerInRange, invalidType, unknownOption } from '../core/validate.js';
import type { RecordedRequest } from './records.js';
import { type ScriptedResponse, checkScriptedResponse } from './scripted-response.js';

/** Which requests a fault applies to: a path (`'api/v1/create_session'` or `'/api/v1/create_session'`) or a predicate. */
export type RequestMatch = string | ((request: RecordedRequest) => boolean);

/** A fault to inject. */
export interface FaultSpec {
  /** The requests it answers. */
  readonly match: RequestMatch;
  /** What they get. */
  readonly response: ScriptedResponse;
  /** How many matching requests it answers before it is used up: a whole number ≥ 1, or `Infinity`. Default 1. */
  readonly times?: number;
}

/** An injected fault, as `fake.inject` returns it. */
export interface Fault {
  /** Matching requests it has answered so far. */
  readonly hits: number;
  /** How many more it will answer (`Infinity` for a fault that never runs out). */
  readonly remaining: number;
  /** Removes it. Idempotent. */
  remove(): void;
}

const SPEC_KEYS = ['match', 'response', 'times'];

/** `/api/v1/x` for `api/v1/x`, `/api/v1/x` or a full URL's path; a query is dropped. */
export function normalizePath(path: string): string {
  const bare = path.split('?')[0] ?? '';
  return bare.startsWith('/') ? bare : `/${bare}`;
}

/** Whether `request` matches; a predicate that throws propagates to the caller. */
export function matches(match: RequestMatch, request: RecordedRequest): boolean {
  return typeof match === 'string' ? normalizePath(match) === request.path : match(request);
}

/** Throws unless `value` is a `RequestMatch`. */
export function checkMatch(name: string, value: unknown): asserts value is RequestMatch {
  if (typeof value !== 'string' && typeof value !== 'function') throw invalidType(name, 'a path string or a predicate function', value);
}

interface Entry {
  readonly match: RequestMatch;
  readonly response: ScriptedResponse;
  remaining: number;
  hits: number;
}

/** The faults of one fake, in the order they were injected: the first that matches answers. */
export class FaultList {
  private entries: Entry[] = [];

  /** Checks and adds a fault. */
  add(spec: FaultSpec): Fault {
    if (typeof spec !== 'object' || spec === null) throw invalidType('fault', 'an object { match, response, times? }', spec);
    for (const key of Object.keys(spec)) if (!SPEC_KEYS.includes(key)) throw unknownOption('inject()', key, SPEC_KEYS);
    checkMatch('fault.match', spec.match);
    checkScriptedResponse('fault.response', spec.response);
    const times = spec.times ?? 1;
    if (times !== Infinity) integerInRange('fault.times', times, 1);
    const entry: Entry = { match: spec.match, response: spec.response, remaining: times, hits: 0 };
    this.entries.push(entry);
    return {
      get hits() {
        return entry.hits;
      },
      get remaining() {
        return entry.remaining;
      },
      remove: () => {
        entry.remaining = 0;
        this.entries = this.entries.filter((other) => other !== entry);
      },
    };
  }

  /** The response of the first live fault that matches `request`, using one of its times; undefined when none does. */
  take(request: RecordedRequest): ScriptedResponse | undefined {
    for (const entry of this.entries) {
      if (entry.remaining <= 0 || !matches(entry.match, request)) continue;
      entry.remaining--;
      entry.hits++;
      if (entry.remaining <= 0) this.entries = this.entries.filter((other) => other !== entry);
      return entry.response;
    }
    return undefined;
  }

  /** Removes every fault. */
  clear(): void {
    for (const entry of this.entries) entry.remaining = 0;
    this.entries = [];
  }
}
