/**
 * The model card is a pure function of run data: method and config, architecture, input
 * contract, data and privacy, counts, evaluation beside the baselines ("not evaluated" where a
 * number is missing), DP, licence and every file's SHA-256.
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_ENCODER } from '../../../shared/models/encoder';
import { describeSplit, knnTop1, probeRows } from '../../../server/model/eval-summary';
import { readDp, renderModelCard, type ModelCardInput } from '../../../server/model/model-card';

const base: ModelCardInput = {
  version: 12, source: 'online', runId: 'run-1234', method: 'simclr',
  methodConfig: { encoder: DEFAULT_ENCODER, projectionDim: 128, temperature: 0.5 },
  encoder: DEFAULT_ENCODER, parameters: 307_360,
  training: { contributors: 3, updates: 57, examples: 9_120, firstUpdateAt: Date.UTC(2026, 0, 2, 3, 4), lastUpdateAt: Date.UTC(2026, 0, 2, 5, 6), clientKinds: { node: 2, extension: 1 } },
  evaluation: { version: 10, at: Date.UTC(2026, 0, 2, 5, 0), metrics: { knn_top1: 0.7123, knn_top1_raw_pixels: 0.781, knn_top1_random_init: 0.667, linear_10pct: 0.7, embedding_std: 0.05 }, split: { bank: 5000, queries: 1000, subset: true } },
  evaluations: 2, dp: null, license: 'CC-BY-4.0',
  files: [
    { name: 'model.json', bytes: 13_330, sha256: 'a'.repeat(64), note: 'TensorFlow.js' },
    { name: 'encoder.onnx', bytes: 43_472, sha256: 'b'.repeat(64), note: 'ONNX | opset 13' },
  ],
  software: { glimpse: '0.1.0' }, createdAt: Date.UTC(2026, 0, 2, 5, 6),
};

describe('model card', () => {
  it('says what the encoder is, how to feed it and what it was trained on', () => {
    const md = renderModelCard(base);
    expect(md).toMatch(/^# Glimpse image encoder — version 12\n/);
    expect(md).toContain('federated SimCLR (Chen et al. 2020');
    expect(md).toContain('the online encoder of run `run-1234`, version 12 (made 2026-01-02 05:06 UTC)');
    expect(md).toContain('stem conv 3×3×32 → basic-block stages [1×32, 1×64/2, 1×128/2]');
    expect(md).toContain('LayerNorm over channels; ReLU; 307,360 parameters');
    expect(md).toContain('"projectionDim": 128');
    expect(md).not.toMatch(/"encoder":/); // the architecture line says it; the JSON block lists the rest
    expect(md).toContain('`[batch, 32, 32, 3]` float32, NHWC, RGB in [0, 1]');
    expect(md).toContain('`[batch, 3, 32, 32]` float32, NCHW');
    expect(md).toContain('`[batch, 128]` float32');
    expect(md).toContain('Contributors by client: 2 Node, 1 extension.');
    expect(md).toContain('Fashion-MNIST training set');
    expect(md).toContain('images their users viewed while browsing');
    expect(md).toContain('Images never leave a contributor\'s device');
    expect(md).toContain('**Contributors:** 3; **updates folded:** 57 into 12 server versions; **examples behind them:** 9,120.');
  });

  it('puts every probe beside its baselines on the same split, and says "not evaluated" for gaps', () => {
    const md = renderModelCard(base);
    expect(md).toContain('Measured on version 10 (2026-01-02 05:00 UTC; 2 evaluations so far) on held-out Fashion-MNIST (5,000 bank / 1,000 queries, a subset of the full protocol)');
    expect(md).toContain('| Probe | This encoder | Random init | Raw pixels |');
    expect(md).toContain('| kNN top-1 (k = 20, cosine) | 71.2% | 66.7% | 78.1% |');
    expect(md).toContain('| Linear probe, 10% of labels | 70.0% | not evaluated | not evaluated |');
    expect(md).not.toContain('1% of labels');
    expect(md).toContain('Embedding standard deviation (collapse check; near 0 means collapsed): 0.0500.');
    const none = renderModelCard({ ...base, evaluation: null, evaluations: 0 });
    expect(none).toContain('## Evaluation\n\nNot evaluated:');
    // Older runs recorded `knn`; it reads as knn_top1.
    const legacy = renderModelCard({ ...base, evaluation: { version: 3, at: 0, metrics: { knn: 0.5 } } });
    expect(legacy).toContain('| kNN top-1 (k = 20, cosine) | 50.0% | not evaluated | not evaluated |');
  });

  it('states DP, licence, file hashes and versions', () => {
    const md = renderModelCard(base);
    expect(md).toContain('No differential privacy');
    expect(md).toContain('CC-BY-4.0');
    expect(md).toContain(`| \`model.json\` | 13,330 | \`${'a'.repeat(64)}\` | TensorFlow.js |`);
    expect(md).toContain(`| \`encoder.onnx\` | 43,472 | \`${'b'.repeat(64)}\` | ONNX \\| opset 13 |`);
    expect(md).toContain('- glimpse 0.1.0');
    const dp = renderModelCard({ ...base, dp: readDp({ epsilon: 8, delta: 1e-5, mechanism: 'gaussian', clip: 1 }), license: null });
    expect(dp).toContain('Differentially private training: ε = 8, δ = 0.00001 (mechanism gaussian, clip 1).');
    expect(dp).toContain('Not declared by this server\'s operator');
    expect(renderModelCard({ ...base, training: { ...base.training, contributors: 0, updates: 0, clientKinds: {} } })).toContain('No contributor has trained this version yet');
  });

  it('reads DP status and metrics in whatever shape they come', () => {
    expect(readDp(null)).toBeNull();
    expect(readDp({ enabled: false, epsilon: 3 })).toBeNull();
    expect(readDp({ eps: 2 })).toEqual({ epsilon: 2, delta: null, details: [] });
    expect(readDp({ noiseMultiplier: 1.1 })).toEqual({ epsilon: null, delta: null, details: ['noiseMultiplier 1.1'] });
    expect(knnTop1({ knn_top1: 0.6, knn: 0.1 })).toBe(0.6);
    expect(knnTop1({ embeddingStd: 1 })).toBeNull();
    expect(probeRows(null)).toEqual([{ key: 'knn_top1', label: 'kNN top-1 (k = 20, cosine)', encoder: null, rawPixels: null, randomInit: null }]);
    expect(probeRows({ linear_1pct_raw_pixels: 0.4 }).map((r) => r.key)).toEqual(['knn_top1', 'linear_1pct']);
    expect(describeSplit({ bank: 60000, queries: 10000 })).toBe('60,000 bank / 10,000 queries');
    expect(describeSplit(undefined)).toBe('');
  });
});
