/**
 * A pause that a wake ends early. A wake that comes while no pause is running is kept, and ends
 * the next pause at once: a settings change during a round must not wait out the back-off after it.
 */
export class WakeableSleep {
  private wakeUp: (() => void) | null = null;
  private woken = false;

  wake(): void {
    if (this.wakeUp) this.wakeUp();
    else this.woken = true;
  }

  sleep(ms: number): Promise<void> {
    if (this.woken) {
      this.woken = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const t = setTimeout(done, ms);
      function done() {
        clearTimeout(t);
        resolve();
      }
      this.wakeUp = () => {
        this.wakeUp = null;
        done();
      };
    });
  }
}
