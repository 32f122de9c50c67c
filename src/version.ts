// Replaced at build time from package.json (scripts/build.mjs); the fallback serves tests.
declare const MIDGE_VERSION: string | undefined;
export const VERSION: string = typeof MIDGE_VERSION === 'string' ? MIDGE_VERSION : '0.0.0-dev';
