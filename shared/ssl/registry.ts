/**
 * The method registry: adding a method is one file plus one line here. The server's plan names a
 * method; server and every client build it from this registry, so they agree on weight names.
 */
import { DEFAULT_ENCODER } from '../models/encoder';
import { createByol } from './byol';
import { createColorization } from './colorization';
import { createInpainting } from './inpainting';
import { createJigsaw } from './jigsaw';
import type { MethodConfig, SslMethod } from './method';
import { createMoco } from './moco';
import { createRotation } from './rotation';
import { createSimclr } from './simclr';

interface MethodEntry {
  create: (config: MethodConfig) => SslMethod;
  /** Method-specific defaults layered over BASE_CONFIG. */
  defaults: Partial<MethodConfig>;
}

/**
 * The joint-embedding methods read the encoder's last feature map pooled to a 2×2 grid (512-d)
 * rather than globally (128-d): measured in docs/quality.md, it is what takes the pretrained
 * encoder's kNN above raw pixels on Fashion-MNIST. The pretext-task methods keep global pooling.
 */
const GRID_POOLED = { encoder: { poolGrid: 2 } as MethodConfig['encoder'] };

export const METHODS: Record<string, MethodEntry> = {
  byol: { create: createByol, defaults: { ...GRID_POOLED } },
  simclr: { create: createSimclr, defaults: { ...GRID_POOLED, temperature: 0.5 } },
  // serverMomentum: the EMA m the server applies to the key encoder (MoCo eq. 2: m = 0.999).
  moco: { create: createMoco, defaults: { ...GRID_POOLED, temperature: 0.07, mocoVersion: 1, queueSize: 4096, serverMomentum: 0.999 } },
  mocov2: { create: createMoco, defaults: { ...GRID_POOLED, temperature: 0.2, mocoVersion: 2, queueSize: 4096, serverMomentum: 0.999 } },
  rotation: { create: createRotation, defaults: {} },
  jigsaw: { create: createJigsaw, defaults: { permutations: 64 } },
  inpainting: { create: createInpainting, defaults: { lambdaRec: 0.999, lambdaAdv: 0.001, mask: 'mixed' } },
  colorization: { create: createColorization, defaults: { rebalanceLambda: 0.5, annealTemperature: 0.38 } },
};

export const BASE_CONFIG: MethodConfig = {
  encoder: DEFAULT_ENCODER,
  projectionHidden: 512,
  projectionDim: 128,
  temperature: 0.5,
  headNorm: 'batch',
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
