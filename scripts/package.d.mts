// Types for scripts/package.mjs, for TypeScript callers (test/build).
export declare const FORMATS: string[];
/** Builds the board's package (format default: the board's `package`); returns its path. */
export declare function makePackage(options: { board: string; profile?: string; format?: 'deb' | 'ipk' | 'tar'; outDir?: string }): Promise<string>;
