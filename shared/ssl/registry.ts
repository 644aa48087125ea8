/**
 * The method registry: adding a method is one file plus one line here. The server's plan names a
 * method; server and every client build it from this registry, so they agree on weight names.
 */
import { DEFAULT_ENCODER } from '../models/encoder';
import { createByol } from './byol';
import type { MethodConfig, SslMethod } from './method';
import { createSimclr } from './simclr';

interface MethodEntry {
  create: (config: MethodConfig) => SslMethod;
  /** Method-specific defaults layered over BASE_CONFIG. */
  defaults: Partial<MethodConfig>;
}

export const METHODS: Record<string, MethodEntry> = {
  byol: { create: createByol, defaults: {} },
  simclr: { create: createSimclr, defaults: { temperature: 0.5 } },
};

export const BASE_CONFIG: MethodConfig = {
  encoder: DEFAULT_ENCODER,
  projectionHidden: 512,
  projectionDim: 128,
  temperature: 0.5,
};

export function methodNames(): string[] {
  return Object.keys(METHODS);
}

export function resolveMethodConfig(name: string, overrides: Partial<MethodConfig> = {}): MethodConfig {
  const entry = METHODS[name];
  if (!entry) throw new Error(`unknown SSL method '${name}' (known: ${methodNames().join(', ')})`);
  return { ...BASE_CONFIG, ...entry.defaults, ...overrides, encoder: { ...BASE_CONFIG.encoder, ...(entry.defaults.encoder ?? {}), ...(overrides.encoder ?? {}) } };
}

/** Builds a method by name; unknown names get an error listing the known ones. */
export function createMethod(name: string, overrides: Partial<MethodConfig> = {}): SslMethod {
  const config = resolveMethodConfig(name, overrides);
  return METHODS[name].create(config);
}
