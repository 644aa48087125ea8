/** Chrome's MV3 service worker: the background with the offscreen document as trainer host. */
import { startBackground } from './background';
import { createOffscreenHost } from './offscreen-host';

startBackground(createOffscreenHost());
