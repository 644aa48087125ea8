/** The backend setting → the worker's try order, and emulated GPUs ranked after wasm. */
import { describe, expect, it } from 'vitest';
import { rankSoftwareLast } from '../../shared/backends/browser-backend';
import { backendChoice } from '../../extension/common/backend-choice';
import { DEFAULT_SETTINGS, parseSettings } from '../../extension/common/settings';

describe('backend choice', () => {
  it("'auto' keeps the default order with emulated GPUs last; a named backend goes first, emulated or not", () => {
    expect(DEFAULT_SETTINGS.backend).toBe('auto');
    expect(backendChoice('auto')).toEqual({ order: ['webgpu', 'webgl', 'wasm', 'cpu'], softwareGpu: 'last' });
    expect(backendChoice('wasm')).toEqual({ order: ['wasm', 'webgpu', 'webgl', 'cpu'], softwareGpu: 'allow' });
    expect(backendChoice('webgpu')).toEqual({ order: ['webgpu', 'webgl', 'wasm', 'cpu'], softwareGpu: 'allow' });
    expect(parseSettings({ backend: 'quantum' }).backend).toBe('auto'); // a bad stored value falls back
  });

  it('moves software GPUs just before cpu, keeping the rest in order', () => {
    expect(rankSoftwareLast(['webgpu', 'webgl', 'wasm', 'cpu'], ['webgpu', 'webgl'])).toEqual(['wasm', 'webgpu', 'webgl', 'cpu']);
    expect(rankSoftwareLast(['webgpu', 'webgl', 'wasm', 'cpu'], ['webgpu'])).toEqual(['webgl', 'wasm', 'webgpu', 'cpu']);
    expect(rankSoftwareLast(['webgpu', 'webgl', 'wasm', 'cpu'], [])).toEqual(['webgpu', 'webgl', 'wasm', 'cpu']);
    expect(rankSoftwareLast(['webgl', 'webgpu'], ['webgl'])).toEqual(['webgpu', 'webgl']);
  });
});
