import { relative } from 'node:path';
import { BaseSequencer, type TestSpecification } from 'vitest/node';
import { configDefaults, defineConfig, mergeConfig } from 'vitest/config';
import base from './vitest.config.js';

/**
 * The order Stryker's runs take the test files in. Stryker runs, for each
 * mutant, the tests that cover it, one file after another, and stops at the
 * first failure. Vitest's own order runs the longest files first, which is
 * right for a whole suite on many workers but makes every killed mutant pay
 * for the slowest model checks before a quick unit test fails. Here the
 * files that failed last time come first (the mutant before often broke the
 * same code), then the quickest.
 */
class QuickFirstSequencer extends BaseSequencer {
  override sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const { cache, config } = this.ctx;
    const known = (spec: TestSpecification): { failed: boolean; duration: number } => {
      const key = `${spec.project.name}:${relative(config.root, spec.moduleId)}`;
      const result = cache.getFileTestResults(key);
      if (result !== undefined) return { failed: result.failed, duration: result.duration };
      // Not yet run: by size, which tracks duration well enough; model checks last.
      const size = cache.getFileStats(key)?.size ?? 0;
      return { failed: false, duration: spec.moduleId.includes('model-tests') ? 1e9 + size : size / 100 };
    };
    return Promise.resolve(
      [...files].sort((a, b) => {
        const x = known(a);
        const y = known(b);
        if (x.failed !== y.failed) return x.failed ? -1 : 1;
        return x.duration - y.duration;
      }),
    );
  }
}

export default mergeConfig(
  base,
  defineConfig({
    test: {
      sequence: { sequencer: QuickFirstSequencer },
      // The README's typecheck compiles the package's sources, which in Stryker's
      // sandbox are the instrumented ones, not the package; its snippets run in
      // child processes, where no mutant is active. It can kill nothing there.
      exclude: [...configDefaults.exclude, 'test/readme.test.ts'],
    },
  }),
);
