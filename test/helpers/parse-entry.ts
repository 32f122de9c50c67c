// The config parser as a bundle built with chosen flags (importWithFlags) sees it: the features'
// option parsers registered first, as main.ts does.
import { registerFeatureParsers } from '../../src/features/options.ts';

registerFeatureParsers();
export * from '../../src/config/parse.ts';
