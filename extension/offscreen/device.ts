/**
 * What the trainer's page can tell about the device, for the policy: running on battery
 * (Chrome's navigator.getBattery; Firefox does not expose it) and the browser's Data Saver /
 * "save data" preference (navigator.connection.saveData, Chromium). A value the browser does not
 * expose is null and never blocks training. Service workers have neither API, so the trainer's
 * page reads them and sends them with its lease request.
 */
import type { DeviceConditions } from '../common/messages';

interface BatteryLike {
  charging: boolean;
}
type Nav = Navigator & { getBattery?: () => Promise<BatteryLike>; connection?: { saveData?: boolean } };

export function deviceReader(nav: Nav | undefined = globalThis.navigator as Nav | undefined): () => Promise<DeviceConditions> {
  // One BatteryManager, kept: its `charging` stays current.
  let battery: Promise<BatteryLike | null> | null = null;
  return async () => {
    battery ??= nav?.getBattery ? nav.getBattery().catch(() => null) : Promise.resolve(null);
    const b = await battery;
    const saveData = nav?.connection?.saveData;
    return { onBattery: b ? !b.charging : null, saveData: typeof saveData === 'boolean' ? saveData : null };
  };
}
