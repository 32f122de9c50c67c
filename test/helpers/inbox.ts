// What a test receives (packets, lines), awaited by predicate whether it arrived before or after
// the test asked: items not asked for yet wait in `items`.

export class Inbox<T> {
  readonly items: T[] = [];
  private waiters: { test: (t: T) => boolean; resolve: (t: T) => void }[] = [];

  add(t: T): void {
    const i = this.waiters.findIndex((w) => w.test(t));
    if (i >= 0) this.waiters.splice(i, 1)[0].resolve(t);
    else this.items.push(t);
  }

  next(test: (t: T) => boolean, what: string, ms = 5000): Promise<T> {
    const i = this.items.findIndex(test);
    if (i >= 0) return Promise.resolve(this.items.splice(i, 1)[0]);
    return new Promise((resolve, reject) => {
      const w = {
        test,
        resolve: (t: T) => {
          clearTimeout(timer);
          resolve(t);
        },
      };
      const timer = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        reject(new Error(`no ${what} within ${ms} ms`));
      }, ms);
      this.waiters.push(w);
    });
  }
}
