/**
 * The model card of one encoder version (Mitchell et al. 2019, "Model Cards for Model
 * Reporting"): what it is, how to feed it, what it was trained on and how, how good it is next to
 * the baselines an encoder must beat, its privacy properties, licence and the SHA-256 of every
 * file. A pure function of run data, rendered as Markdown (MODEL_CARD.md in every export, and on
 * the public page).
 */
import { representationDim, type EncoderConfig } from '../../shared/models/encoder';
import { describeSplit, embeddingStd, percent, probeRows, type Evaluation } from './eval-summary';
import type { TrainingFacts } from './run-facts';

export interface CardFile {
  name: string;
  bytes: number;
  sha256: string;
  note: string;
}

export interface DpStatus {
  epsilon: number | null;
  delta: number | null;
  /** Other fields the server reported (mechanism, clip, noise multiplier…), as "k v" pairs. */
  details: string[];
}

export interface ModelCardInput {
  version: number;
  source: 'target' | 'online';
  runId: string;
  method: string;
  /** The method's resolved config (encoder included). */
  methodConfig: Record<string, unknown>;
  encoder: EncoderConfig;
  /** Numbers in the encoder's weights (normalization statistics included). */
  parameters: number;
  training: TrainingFacts;
  /** Latest evaluation of a version ≤ this one, or null. */
  evaluation: Evaluation | null;
  /** Evaluations so far (for the count; the page charts them). */
  evaluations: number;
  dp: DpStatus | null;
  license: string | null;
  files: CardFile[];
  /** Component versions, e.g. { glimpse: '0.1.0', '@tensorflow/tfjs-core': '4.22.0' }. */
  software: Record<string, string>;
  /** When the version was made (epoch ms), if known. */
  createdAt: number | null;
}

const METHODS: Record<string, string> = {
  byol: 'BYOL (Grill et al. 2020, "Bootstrap Your Own Latent")',
  simclr: 'SimCLR (Chen et al. 2020, "A Simple Framework for Contrastive Learning of Visual Representations")',
  moco: 'MoCo v1 (He et al. 2020, "Momentum Contrast for Unsupervised Visual Representation Learning")',
  mocov2: 'MoCo v2 (Chen et al. 2020, "Improved Baselines with Momentum Contrastive Learning")',
  rotation: 'RotNet rotation prediction (Gidaris et al. 2018)',
  jigsaw: 'Jigsaw puzzles (Noroozi & Favaro 2016)',
  inpainting: 'Context-encoder inpainting (Pathak et al. 2016)',
  colorization: 'Colorization (Zhang et al. 2016)',
};

/** A server's `dp` status or checkpoint field → what the card says; null = no differential privacy. */
export function readDp(raw: unknown): DpStatus | null {
  if (!raw || typeof raw !== 'object') return null;
  const r = raw as Record<string, unknown>;
  if (r.enabled === false) return null;
  const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : null);
  const details = Object.entries(r)
    .filter(([k, v]) => !['enabled', 'epsilon', 'eps', 'delta'].includes(k) && v !== null && typeof v !== 'object')
    .map(([k, v]) => `${k} ${String(v)}`);
  return { epsilon: num(r.epsilon) ?? num(r.eps), delta: num(r.delta), details };
}

const date = (ms: number | null) => (ms === null ? 'unknown' : new Date(ms).toISOString().replace('T', ' ').slice(0, 16) + ' UTC');
const cell = (s: string) => s.replace(/\|/g, '\\|');

function architecture(e: EncoderConfig, parameters: number): string {
  const stages = e.widths.map((w, i) => `${e.blocksPerStage[i]}×${w}${e.strides[i] === 2 ? '/2' : ''}`).join(', ');
  const norm = { layer: 'LayerNorm over channels', batch: 'BatchNorm (running statistics at inference)', none: 'no normalization' }[e.norm] ?? e.norm;
  return `ResNet-style (He et al. 2016): stem conv 3×3×${e.stemWidth} → basic-block stages [${stages}] (blocks×width, /2 = stride 2) → ${(e.poolGrid ?? 1) > 1 ? `average pool to a ${e.poolGrid}×${e.poolGrid} grid, flattened (rows, columns, channels)` : 'global average pool'}; ${norm}; ReLU; ${parameters.toLocaleString('en-US')} parameters.`;
}

const NODE_DATA = '**Node contributors** (`glimpse contribute`) train on a shard of the Fashion-MNIST training set (Xiao et al. 2017; 28×28 grayscale clothing images, padded to the input size and repeated to RGB), label-skewed when the run was started with `--non-iid`, or on a local folder of images their operator chose.';
const BROWSER_DATA = '**Browser-extension contributors** train on small crops of images their users viewed while browsing, on sites they opted in to, kept in a capped buffer on their device.';

function dataSection(t: TrainingFacts): string {
  const kinds = Object.entries(t.clientKinds);
  const sources = [
    ...(t.clientKinds.node || !kinds.length ? [NODE_DATA] : []),
    ...(t.clientKinds.extension || t.clientKinds.browser || !kinds.length ? [BROWSER_DATA] : []),
    ...(t.clientKinds.other ? ['**Other clients** train on data of their own choosing.'] : []),
  ];
  return [
    kinds.length ? `Contributors by client: ${kinds.map(([k, n]) => `${n} ${k === 'node' ? 'Node' : k}`).join(', ')}.` : 'No contributor has trained this version yet (initial weights); contributors would train on:',
    '',
    ...sources.map((s) => `- ${s}`),
    '',
    '**Privacy.** Images never leave a contributor\'s device: only weight updates (changes of the model\'s weights after a few local training steps) reach the server, plus the round\'s loss and timing. No image, URL or browsing history is sent or stored. Weight updates can still carry information about the images they were computed on (gradient inversion, Zhu et al. 2019); see *Differential privacy* below for what bounds that here.',
  ].join('\n');
}

function evaluationSection(ev: Evaluation | null, count: number): string {
  if (!ev) return 'Not evaluated: the server ran without an evaluator, or none has finished yet.';
  const rows = probeRows(ev.metrics);
  const split = describeSplit(ev.split);
  const std = embeddingStd(ev.metrics);
  return [
    `Measured on version ${ev.version} (${date(ev.at)}; ${count} evaluation${count === 1 ? '' : 's'} so far) on held-out Fashion-MNIST${split ? ` (${split})` : ''}. The baselines are measured on the same split: a method must beat raw pixels and its own random initialisation to be worth using.`,
    '',
    '| Probe | This encoder | Random init | Raw pixels |',
    '|---|---|---|---|',
    ...rows.map((r) => `| ${r.label} | ${percent(r.encoder)} | ${percent(r.randomInit)} | ${percent(r.rawPixels)} |`),
    ...(std === null ? [] : ['', `Embedding standard deviation (collapse check; near 0 means collapsed): ${std.toFixed(4)}.`]),
  ].join('\n');
}

function dpSection(dp: DpStatus | null): string {
  if (!dp) return 'No differential privacy: updates are clipped and validated by the server, but no noise is added, so no ε guarantee holds.';
  const eps = dp.epsilon === null ? 'ε not reported' : `ε = ${dp.epsilon}`;
  const delta = dp.delta === null ? '' : `, δ = ${dp.delta}`;
  return `Differentially private training: ${eps}${delta}${dp.details.length ? ` (${dp.details.join(', ')})` : ''}.`;
}

/** The model card as Markdown. */
export function renderModelCard(c: ModelCardInput): string {
  const e = c.encoder;
  const { encoder: _e, ...methodRest } = c.methodConfig;
  const t = c.training;
  return `# Glimpse image encoder — version ${c.version}

A self-supervised image encoder pretrained by volunteers' browsers and machines with federated ${METHODS[c.method] ?? c.method}. It maps a ${e.inputSize}×${e.inputSize} image to an embedding of ${representationDim(e)} numbers for similarity search, clustering or a small classifier on top.

## Model

- **Method:** ${METHODS[c.method] ?? c.method}, trained federatedly: clients run local steps and send weight updates; the server folds them with buffered asynchronous aggregation (FedBuff, Nguyen et al. 2022).
- **This file set:** the ${c.source === 'target' ? 'EMA target (momentum) encoder' : 'online encoder'} of run \`${c.runId}\`, version ${c.version} (made ${date(c.createdAt)}).
- **Architecture:** ${architecture(e, c.parameters)}
- **Method config:**

\`\`\`json
${JSON.stringify(methodRest, null, 2)}
\`\`\`

## Input and output

- **TensorFlow.js** (\`model.json\`): \`[batch, ${e.inputSize}, ${e.inputSize}, ${e.channels}]\` float32, NHWC, RGB in [0, 1] (the model centres it itself: 2x − 1).
- **PyTorch** (\`encoder.safetensors\` + \`python/\`'s \`GlimpseEncoder\`) and **ONNX** (\`encoder.onnx\`, input \`images\`): \`[batch, ${e.channels}, ${e.inputSize}, ${e.inputSize}]\` float32, NCHW, RGB in [0, 1].
- Resize (or centre-crop and resize) images to ${e.inputSize}×${e.inputSize} first.
- **Output:** \`[batch, ${representationDim(e)}]\` float32, not normalized; compare embeddings with cosine similarity.
- \`encoder.safetensors\` keeps TensorFlow.js names and layouts (\`enc_stem_conv/kernel\`, kernels HWIO); its metadata carries \`encoderConfig\`, from which \`GlimpseEncoder\` rebuilds the network.

## Training data

${dataSection(t)}

## Training

- **Contributors:** ${t.contributors.toLocaleString('en-US')}; **updates folded:** ${t.updates.toLocaleString('en-US')} into ${c.version.toLocaleString('en-US')} server versions; **examples behind them:** ${t.examples.toLocaleString('en-US')}.
- **First and last update:** ${date(t.firstUpdateAt)} – ${date(t.lastUpdateAt)}.

## Evaluation

${evaluationSection(c.evaluation, c.evaluations)}

## Differential privacy

${dpSection(c.dp)}

## Limitations

- A small encoder for ${e.inputSize}×${e.inputSize} images: fine detail of larger images is lost in the resize.
- Evaluated only on Fashion-MNIST; features for other kinds of images are untested.
- Trained on whatever its contributors' data was: a skewed or small set of contributors gives a skewed encoder. Not for decisions about people.

## Licence

${c.license ?? 'Not declared by this server\'s operator (they can set one with GLIMPSE_MODEL_LICENSE or `glimpse export --license`); ask them before redistributing.'} Fashion-MNIST, the data Node contributors train on by default, is MIT-licensed (© 2017 Zalando SE).

## Files

| File | Bytes | SHA-256 | What |
|---|---|---|---|
${c.files.map((f) => `| \`${cell(f.name)}\` | ${f.bytes.toLocaleString('en-US')} | \`${f.sha256}\` | ${cell(f.note)} |`).join('\n')}

## Versions

${Object.entries(c.software).map(([k, v]) => `- ${k} ${v}`).join('\n')}
- encoder version ${c.version} of run \`${c.runId}\`
`;
}
