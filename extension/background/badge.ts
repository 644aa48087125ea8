/**
 * The toolbar badge: "ON" while the trainer is training, nothing otherwise, and a tooltip that
 * says where it trains, so a person sees at a glance that their computer is working.
 */
import browser from 'webextension-polyfill';
import { runsOnGpu } from '../common/backend-choice';

export const TRAINING_BADGE = 'ON';

export function showTraining(training: boolean, backend: string | null): void {
  const action = browser.action;
  if (!action) return;
  void action.setBadgeText({ text: training ? TRAINING_BADGE : '' }).catch(() => {});
  if (training) void action.setBadgeBackgroundColor({ color: '#146c2e' }).catch(() => {});
  const title = training ? `Glimpse — training on your ${runsOnGpu(backend) ? 'graphics card' : 'processor'}` : 'Glimpse';
  void action.setTitle({ title }).catch(() => {});
}
