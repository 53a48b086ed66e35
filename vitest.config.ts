import ts from 'typescript';
import { defineConfig, type Plugin } from 'vitest/config';

/**
 * Vite's Oxc transform does not lower TC39 standard decorators, and Node 20
 * cannot run them, so test files that use them (`*.decorators.test.ts`) go
 * through the TypeScript compiler first, as a user's build would.
 */
function standardDecorators(): Plugin {
  return {
    name: 'standard-decorators',
    enforce: 'pre',
    transform(code, id) {
      if (!id.endsWith('.decorators.test.ts')) return null;
      const out = ts.transpileModule(code, {
        fileName: id,
        compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext, sourceMap: true },
      });
      return { code: out.outputText, map: out.sourceMapText ?? null };
    },
  };
}

export default defineConfig({
  plugins: [standardDecorators()],
  test: {
    include: ['test/**/*.test.ts', 'model-tests/**/*.test.ts'],
    environment: 'node',
    testTimeout: 20_000,
  },
});
