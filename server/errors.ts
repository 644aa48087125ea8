/**
 * Errors the server raises for its operator (not for clients: those get protocol rejections).
 * The CLI prints a ConfigError's message as it is, without a stack.
 */

/** A bad setting, or a data directory that holds a different run: a one-line, fixable message. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}
