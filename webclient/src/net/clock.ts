/** Server clock estimate from ``clock_sync`` round trips (NTP-style, best of recent samples). */

export interface ClockSample {
  rttMs: number;
  offsetMs: number;
}

/** The offset of one round trip: the server's time minus the client's time at the midpoint. */
export function sampleOf(sentMs: number, receivedMs: number, serverMs: number): ClockSample {
  return { rttMs: Math.max(0, receivedMs - sentMs), offsetMs: serverMs - (sentMs + receivedMs) / 2 };
}

export class ClockSync {
  private samples: ClockSample[] = [];

  constructor(
    private readonly keep = 8,
    private readonly now: () => number = () => Date.now(),
  ) {}

  add(sample: ClockSample): void {
    this.samples.push(sample);
    if (this.samples.length > this.keep) this.samples.shift();
  }

  get synced(): boolean {
    return this.samples.length > 0;
  }

  /** Server minus client, from the sample with the shortest round trip (least asymmetric). */
  get offsetMs(): number {
    let best: ClockSample | undefined;
    for (const s of this.samples) if (best === undefined || s.rttMs < best.rttMs) best = s;
    return best === undefined ? 0 : best.offsetMs;
  }

  /** The server's clock now, in ms since the epoch. */
  serverNow(): number {
    return this.now() + this.offsetMs;
  }

  /** Milliseconds left until a server-clock deadline (never negative). */
  remainingMs(deadlineServerMs: number): number {
    return Math.max(0, deadlineServerMs - this.serverNow());
  }
}
