/**
 * The code a visitor copies from the public page to use the encoder: TensorFlow.js (model.json),
 * PyTorch (encoder.safetensors + python/'s GlimpseEncoder) and ONNX Runtime (encoder.onnx).
 * Plain text; the page escapes it.
 */

export interface SnippetInput {
  /** e.g. http://host:8787/api/encoder/12 */
  base: string;
  version: number;
  inputSize: number;
  channels: number;
  embeddingDim: number | string;
}

export function tfjsSnippet(s: SnippetInput): string {
  return `import * as tf from '@tensorflow/tfjs';

// Version ${s.version}; use …/api/encoder/latest/model.json for whatever is newest.
const encoder = await tf.loadLayersModel('${s.base}/model.json');

const img = document.querySelector('img');  // or a <canvas>, ImageData, <video>…
const embedding = tf.tidy(() => {
  const x = tf.browser.fromPixels(img${s.channels === 1 ? ', 1' : ''}).toFloat().div(255);          // [h, w, ${s.channels}] in [0, 1]
  const input = tf.image.resizeBilinear(x, [${s.inputSize}, ${s.inputSize}]).expandDims(0);  // [1, ${s.inputSize}, ${s.inputSize}, ${s.channels}]
  return encoder.predict(input);                                    // [1, ${s.embeddingDim}]
});
console.log(await embedding.data());`;
}

/** PIL image → [1, c, s, s] float tensor in [0, 1], as Python source lines. */
function pilToTensor(s: SnippetInput): string {
  const mode = s.channels === 1 ? 'L' : 'RGB';
  const chw = s.channels === 1 ? 'torch.from_numpy(np.asarray(img))[None]' : 'torch.from_numpy(np.asarray(img)).permute(2, 0, 1)';
  return `img = Image.open("photo.jpg").convert("${mode}").resize((${s.inputSize}, ${s.inputSize}), Image.BILINEAR)
x = ${chw}.float().div(255).unsqueeze(0)  # [1, ${s.channels}, ${s.inputSize}, ${s.inputSize}] in [0, 1], NCHW`;
}

export function pytorchSnippet(s: SnippetInput): string {
  return `# pip install ./python   (in a Glimpse checkout; the package needs only torch)
import numpy as np
import torch
from PIL import Image
from glimpse_encoder import GlimpseEncoder

encoder = GlimpseEncoder.from_url("${s.base}/encoder.safetensors")  # an nn.Module, in eval mode

${pilToTensor(s)}
with torch.no_grad():
    embedding = encoder(x)  # [1, ${s.embeddingDim}]`;
}

export function onnxSnippet(s: SnippetInput): string {
  return `# ${s.base}/encoder.onnx — input "images" [batch, ${s.channels}, ${s.inputSize}, ${s.inputSize}] float32 in [0, 1] (NCHW)
import onnxruntime as ort
session = ort.InferenceSession("encoder.onnx")
embedding = session.run(["embedding"], {"images": x.numpy()})[0]  # [batch, ${s.embeddingDim}]`;
}
