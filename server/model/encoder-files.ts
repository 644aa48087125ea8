/**
 * The files of one encoder version, byte for byte as the server serves them and as `glimpse
 * export` writes them: model.json + weights.v{N}.bin (TensorFlow.js LayersModel) and
 * encoder.safetensors (tfjs weight names, NHWC/HWIO layouts, and the metadata a reader needs to
 * rebuild the architecture: `encoderConfig`, resolved against the method's defaults).
 */
import type { EncoderConfig } from '../../shared/models/encoder';
import type { WeightMap } from '../../shared/weights/weight-map';
import { exportLayersModel, type EncoderSource, type LayersArtifacts } from './encoder-export';
import { encodeSafetensors } from './safetensors';

/** What identifies the run an encoder comes from. */
export interface RunIdentity {
  runId: string;
  method: string;
  methodConfig: Record<string, unknown>;
}

/** One version's encoder weights under the encoder's own names. */
export interface EncoderVersion {
  version: number;
  source: EncoderSource;
  weights: WeightMap;
}

export interface EncoderFiles {
  version: number;
  source: EncoderSource;
  encoderConfig: EncoderConfig;
  /** model.json text; its weightsManifest names {@link weightsFile}. */
  modelJson: string;
  /** `weights.v{N}.bin`: versioned, so a cached model.json never pairs with another version's weights. */
  weightsFile: string;
  weights: Uint8Array;
  safetensors: Uint8Array;
}

export const weightsFileName = (version: number): string => `weights.v${version}.bin`;

/** The resolved encoder config of a run (tfjs-free callers stay tfjs-free: the registry is imported lazily). */
export async function encoderConfigOf(run: RunIdentity): Promise<EncoderConfig> {
  const { resolveMethodConfig } = await import('../../shared/ssl/registry');
  return resolveMethodConfig(run.method, run.methodConfig).encoder;
}

export function modelJsonText(run: RunIdentity, e: { version: number; source: EncoderSource }, artifacts: LayersArtifacts): string {
  return JSON.stringify({
    format: 'layers-model',
    generatedBy: 'glimpse-server',
    convertedBy: null,
    modelTopology: artifacts.modelTopology,
    weightsManifest: [{ paths: [weightsFileName(e.version)], weights: artifacts.weightSpecs }],
    userDefinedMetadata: { glimpseVersion: e.version, encoderSource: e.source, runId: run.runId, method: run.method },
  });
}

/** safetensors `__metadata__` (string → string): what python/glimpse_encoder reads to build the module. */
export function safetensorsMetadata(run: RunIdentity, e: { version: number; source: EncoderSource }, encoderConfig: EncoderConfig): Record<string, string> {
  return {
    format: 'glimpse-encoder', version: String(e.version), source: e.source, method: run.method, runId: run.runId,
    encoderConfig: JSON.stringify(encoderConfig), inputLayout: 'NHWC', inputRange: '[0, 1]',
  };
}

/** Builds every file of one encoder version (tfjs is loaded lazily by the LayersModel export). */
export async function buildEncoderFiles(run: RunIdentity, enc: EncoderVersion): Promise<EncoderFiles> {
  const encoderConfig = await encoderConfigOf(run);
  const artifacts = await exportLayersModel(run.method, run.methodConfig, enc.weights);
  return {
    version: enc.version, source: enc.source, encoderConfig,
    modelJson: modelJsonText(run, enc, artifacts),
    weightsFile: weightsFileName(enc.version),
    weights: artifacts.weightData,
    safetensors: encodeSafetensors(enc.weights, safetensorsMetadata(run, enc, encoderConfig)),
  };
}
