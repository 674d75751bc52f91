// The sound and desktop notification of a new critical alert: generated with WebAudio, nothing
// downloaded; the sound repeats until stopped (acknowledged or muted).
export interface Alarm {
  start(): void;
  stop(): void;
  notify(title: string, body: string, tag: string): void;
  /** How many times the sound has started (read by the browser tests). */
  readonly rings: number;
}

const BEEP_EVERY_MS = 2500;

/** The browser's alarm; silent where WebAudio or notifications are missing. */
export class BrowserAlarm implements Alarm {
  rings = 0;
  private context: AudioContext | null = null;
  private timer: ReturnType<typeof setInterval> | null = null;

  /** Whether the sound is repeating now. */
  get sounding(): boolean {
    return this.timer !== null;
  }

  start(): void {
    this.rings += 1;
    if (this.timer !== null) return;
    this.beep();
    this.timer = setInterval(() => this.beep(), BEEP_EVERY_MS);
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  notify(title: string, body: string, tag: string): void {
    if (typeof Notification === "undefined" || Notification.permission !== "granted") return;
    try {
      new Notification(title, { body, tag, requireInteraction: true });
    } catch {
      // Some browsers only allow notifications from a service worker; the banner is enough.
    }
  }

  /** Two short tones (880 Hz then 660 Hz), loud enough to hear across a room. */
  private beep(): void {
    const Context =
      globalThis.AudioContext ??
      (globalThis as { webkitAudioContext?: typeof AudioContext }).webkitAudioContext;
    if (Context === undefined) return;
    try {
      this.context ??= new Context();
      const ctx = this.context;
      if (ctx.state === "suspended") void ctx.resume();
      [880, 660].forEach((frequency, index) => {
        const start = ctx.currentTime + index * 0.25;
        const oscillator = ctx.createOscillator();
        const gain = ctx.createGain();
        oscillator.type = "square";
        oscillator.frequency.value = frequency;
        gain.gain.setValueAtTime(0.0001, start);
        gain.gain.exponentialRampToValueAtTime(0.25, start + 0.02);
        gain.gain.exponentialRampToValueAtTime(0.0001, start + 0.22);
        oscillator.connect(gain).connect(ctx.destination);
        oscillator.start(start);
        oscillator.stop(start + 0.24);
      });
    } catch {
      // Autoplay rules may refuse sound before the first click; the banner still shows.
    }
  }
}
