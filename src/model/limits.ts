/** Bounds of the model, in a module of their own: option validation (commands/options.ts) needs them without loading the model. */

/** most peer paths the model (and every --paths option) accepts */
export const MAX_PATHS = 64;
