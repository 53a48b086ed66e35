/**
 * What every step of the demo works with: the session, the fake Tinker API
 * it runs against (none with `--base-url`), the transcript and the live
 * view, and the list of things that did not go as the demo expects.
 */
import type { Session } from '../src/index.js';
import type { FakeTinker } from '../src/testing.js';
import type { LiveView } from './live.js';
import type { Transcript } from './transcript.js';

/** The demo's shared state, handed to each act. */
export interface DemoContext {
  /** The Tinker session, made by `createSession`. */
  readonly session: Session;
  /** The fake Tinker API in this process; undefined against a real backend (`--base-url`). */
  readonly fake: FakeTinker | undefined;
  readonly transcript: Transcript;
  /** The live view; undefined with `--no-ui`. */
  readonly live: LiveView | undefined;
  /** What went otherwise than the demo shows it should, one line each; a non-empty list makes the demo exit 1. */
  readonly problems: string[];
}

/** Starts a step: a heading in the terminal and on the live view. */
export function step(context: Pick<DemoContext, 'transcript' | 'live'>, title: string): void {
  context.transcript.say(`\n-- ${title}`);
  context.live?.step(title);
}

/** Waits `ms` milliseconds: the pauses that keep the run watchable. */
export const sleep = (ms: number): Promise<void> => new Promise<void>((resolve) => setTimeout(resolve, ms));
