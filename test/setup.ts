// Runs before every test file: the features' option parsers registered as main.ts does at start-up
// (src/config/registry.ts), so tests can parse config text directly.
import { registerFeatureParsers } from '../src/features/options.ts';

registerFeatureParsers();
