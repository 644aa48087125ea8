/**
 * Firefox's background page (MV3 event page). Firefox has no offscreen API, but its background
 * page is a document that can start Web Workers, so it hosts the trainer itself: the host's
 * "send" is a direct call and the trainer's policy port calls the background's handlers directly.
 */
import browser from 'webextension-polyfill';
import type { Lease, ToOffscreen } from '../common/messages';
import { startBackground, type Background } from '../background/background';
import type { TrainerHost } from '../background/trainer-host';
import { startTrainerSide, type TrainerSide } from '../offscreen/trainer-side';

const self = { kind: 'extension-page' as const, url: browser.runtime.getURL('background-firefox.js'), incognito: false };
let background: Background;
let side: TrainerSide | null = null;

const host: TrainerHost = {
  async ensure() {
    side ??= startTrainerSide({
      lease: async (device) => (await background.handlers['trainer:lease'].handle({ to: 'background', type: 'trainer:lease', device }, self)) as Lease,
      report: async (report) => {
        await background.handlers['trainer:report'].handle({ to: 'background', type: 'trainer:report', report }, self);
      },
      saveBench: async (bench) => {
        await background.handlers['trainer:bench'].handle({ to: 'background', type: 'trainer:bench', bench }, self);
      },
    });
  },
  async close() {
    side?.stop();
    side = null;
  },
  async send(msg: ToOffscreen) {
    if (!side) return undefined;
    switch (msg.type) {
      case 'offscreen:ingest':
        return side.handlers['offscreen:ingest'].handle(msg, self);
      case 'offscreen:wake':
        return side.handlers['offscreen:wake'].handle(msg, self);
      case 'offscreen:clear':
        return side.handlers['offscreen:clear'].handle(msg, self);
    }
  },
  async isRunning() {
    return side !== null;
  },
};

background = startBackground(host);
