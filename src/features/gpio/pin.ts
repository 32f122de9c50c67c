// The driver interface GPIO pins are used through. Drivers deal in physical levels only; active-low,
// debounce, edge filtering and payload formats live in the feature (pins.ts), so every driver
// (onoff on sysfs today, libgpiod later, an in-memory double in tests) behaves the same.

export type Level = 0 | 1;

/** What a driver needs to open one line. */
export interface PinSpec {
  /** The number the driver addresses: the sysfs GPIO number (chip base + line) for onoff. */
  number: number;
  direction: 'in' | 'out';
  /** Outputs: the physical level to drive from the moment the line is claimed (no glitch). */
  initial: Level;
}

export interface Pin {
  /** The current physical level. */
  read(): Level;
  /** Outputs: drive the physical level. */
  write(level: Level): void;
  /** Inputs: `fn` is called with the physical level after each edge (both edges). */
  watch(fn: (level: Level) => void): void;
  /** Stop watching and release the line. */
  close(): void;
}

/** Opens pins; rejects (or throws) when the line cannot be claimed. */
export interface PinDriver {
  readonly name: string;
  open(spec: PinSpec): Pin | Promise<Pin>;
}
