// Types for scripts/build.mjs, for TypeScript callers (test/build).
import type { BuildResult, Metafile } from 'esbuild';

/** The repository root. */
export declare const root: string;
/** Every compile-time flag (src/flags.d.ts). */
export declare const ALL_FLAGS: string[];

export interface Profile {
  name: string;
  description: string;
  flags: string[];
  budget: { minified: number };
}

export interface Board {
  name: string;
  description: string;
  arch: string;
  memoryMB: number;
  target: string;
  minNode: number;
  nodeFlags: string[];
  rssBudgetMB: number;
  profile: string;
  /** How the board installs software: `npm run package`'s default format. */
  package: 'deb' | 'ipk' | 'tar';
  /** Which Node.js builds exist for the board's CPU today; `builds` is empty when none does. */
  node: { summary: string; builds: { source: 'official' | 'unofficial' | 'distribution' | 'openwrt-feed'; versions: string; from: string }[] };
  [key: string]: unknown;
}

export declare function profileNames(): string[];
export declare function boardNames(): string[];
export declare function loadProfile(name: string): Profile;
export declare function loadBoard(name: string): Board;

export interface BuildBundleOptions {
  /** Default dist/broker.min.js. A package.json marking the folder CommonJS is written beside it. */
  outfile?: string;
  /** Flags set to true (the others false). Default: profile `full`. */
  flags?: string[];
  /** esbuild target, default 'node20'. */
  target?: string;
  metafile?: boolean;
  /** esbuild's log level; default 'warning'. */
  logLevel?: 'silent' | 'error' | 'warning' | 'info';
}

export declare function buildBundle(options?: BuildBundleOptions): Promise<BuildResult>;
/** `bundle`: the bundle's absolute path; default: beside the launcher. */
export declare function launcherScript(board: Board, profile: Profile, bundle?: string): string;
export declare function buildTarget(options?: { profile?: string; board?: string; outDir?: string }): Promise<{
  dir: string;
  profile: Profile;
  board: Board;
  metafile: Metafile | undefined;
}>;
