// Types for scripts/package.mjs, for TypeScript callers (test/build).
export declare function makePackage(options: { board: string; profile?: string; outDir?: string }): Promise<string>;
