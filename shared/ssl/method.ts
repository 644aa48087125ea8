/**
 * The one interface every self-supervised method implements. A method owns its tfjs models,
 * turns a raw image batch into its training inputs (`prepare`, outside the gradient tape), and
 * computes a synchronous scalar loss from them (`loss`, inside `optimizer.minimize`).
 *
 * Methods with a momentum/target network *declare* it (`target` group + `momentumPairs`); the
 * server maintains it by EMA (see shared/federation/ema.ts), the method only reads it.
 */
import type * as tf from '@tensorflow/tfjs-core';
import type { EncoderConfig, NormKind } from '../models/encoder';
import type { ModelGroup } from '../models/weights-io';

export interface MomentumPair {
  online: string;
  target: string;
}

/** Prefix of every target/momentum weight on the wire. */
export const TARGET_PREFIX = 'target/';

export interface SslMethod {
  readonly name: string;
  /** The encoder being pretrained (the product). input [b, s, s, c] → [b, d] */
  readonly encoder: import('@tensorflow/tfjs-layers').LayersModel;
  /** Weights trained locally and shipped as deltas. */
  readonly online: ModelGroup;
  /** Weights the server maintains by EMA of `online`; empty models list when the method has none. */
  readonly target: ModelGroup;
  /** online weight name → target weight name; the server's EMA walks these. */
  readonly momentumPairs: MomentumPair[];
  /**
   * Builds the training inputs from images [b, s, s, c] in [0, 1] (augmented views, rotated
   * copies, target projections, …). Runs without a gradient tape; the caller disposes the result.
   */
  prepare(images: tf.Tensor4D, seed: number): tf.Tensor[];
  /** The loss on prepared inputs. Synchronous; called inside `optimizer.minimize`. */
  loss(inputs: tf.Tensor[]): tf.Scalar;
  /** Optional hook after an optimizer step (e.g. MoCo enqueues its keys). */
  afterStep?(inputs: tf.Tensor[]): void;
  /**
   * Further objectives the trainer minimises after `loss` each step, each with its own optimizer
   * over its own variables (e.g. the context encoder's discriminator, Pathak et al. 2016). Those
   * variables are online weights (they travel in deltas) but `loss` never updates them.
   */
  auxiliaryLosses?: AuxiliaryLoss[];
  dispose(): void;
}

/** A second objective over a disjoint set of the method's online variables (GAN discriminators). */
export interface AuxiliaryLoss {
  readonly name: string;
  /** The variables this objective trains; the main loss leaves them alone. */
  variables(): tf.Variable[];
  /** Synchronous scalar on the same prepared inputs as `SslMethod.loss`. */
  loss(inputs: tf.Tensor[]): tf.Scalar;
}

/** Config shared by all methods; each method reads the fields it needs and ignores the rest. */
export interface MethodConfig {
  encoder: EncoderConfig;
  projectionHidden: number;
  projectionDim: number;
  /** Contrastive temperature τ. */
  temperature: number;
  /**
   * Normalization inside the MLP heads. BYOL's heads use BatchNorm (§3.3); in the heads it only
   * ever sees a client's own training batch (the heads are not the product and never run at
   * inference), so the federated-BN trap of the encoder (see encoder.ts) does not apply.
   */
  headNorm: NormKind;
  /**
   * Overrides of the method's augmentation views (shared/augment `ViewOverrides`), chosen for the
   * run's data: e.g. `GRAYSCALE_SMALL_VIEW` for Fashion-MNIST. Absent: the paper's views.
   */
  view?: import('../augment').ViewOverrides;
  [extra: string]: unknown;
}
