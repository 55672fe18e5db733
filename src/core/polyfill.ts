// libp2p 3 calls Promise.withResolvers (ES2024), which Node 20 lacks. This module must be
// imported before any libp2p module: the CLI entry and vitest's setupFiles load it first.
interface WithResolvers<T> {
  promise: Promise<T>;
  resolve: (value: T | PromiseLike<T>) => void;
  reject: (reason?: unknown) => void;
}
const promiseStatic = Promise as unknown as { withResolvers?: <T>() => WithResolvers<T> };
if (typeof promiseStatic.withResolvers !== 'function') {
  promiseStatic.withResolvers = function withResolvers<T>(): WithResolvers<T> {
    let resolve!: (value: T | PromiseLike<T>) => void;
    let reject!: (reason?: unknown) => void;
    const promise = new Promise<T>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    return { promise, resolve, reject };
  };
}
export {};
