/**
 * TensorFlow.js backend selection at run time (DESIGN.md "Models"): tfjs-node where it is
 * installed and loads, else wasm, else cpu; an explicit request overrides and fails loudly.
 *
 * @tensorflow/tfjs-node is an optional dependency that is often absent (its install downloads
 * libtensorflow) or present without its native addon (loading throws). It is therefore only ever
 * loaded here, by a dynamic import of a computed module name, inside try/catch.
 */
import * as tf from '@tensorflow/tfjs';

export type BackendPreference = 'tfjs-node' | 'wasm' | 'cpu' | 'auto';
export type BackendName = Exclude<BackendPreference, 'auto'>;

export interface BackendSelection {
  /** What ran, for the run log. */
  readonly name: BackendName;
  /** TensorFlow.js' own name of the backend ('tensorflow' for tfjs-node). */
  readonly tfBackend: string;
  /** For 'auto': why the better backends were skipped (absent when the first choice loaded). */
  readonly fallbackReason?: string;
}

const TF_NAME: Record<BackendName, string> = { 'tfjs-node': 'tensorflow', wasm: 'wasm', cpu: 'cpu' };

/** One loading attempt per backend per process (a failed import is not retried). */
const loads = new Map<BackendName, Promise<void>>();
/** The result per preference, so a second call returns the same object. */
const results = new Map<BackendPreference, Promise<BackendSelection>>();

function firstLine(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  const line = text.split('\n').map((part) => part.trim()).find((part) => part.length > 0);
  return line ?? 'unknown error';
}

async function activate(tfName: string): Promise<void> {
  if (tf.findBackendFactory(tfName) == null) {
    throw new Error(`TensorFlow.js backend '${tfName}' is not registered`);
  }
  if (tf.getBackend() !== tfName) {
    // setBackend reports failure by returning false (e.g. wasm with threads forced), not by throwing.
    const ok = await tf.setBackend(tfName);
    if (!ok) throw new Error(`tf.setBackend('${tfName}') returned false`);
  }
  await tf.ready();
  if (tf.getBackend() !== tfName) {
    throw new Error(`TensorFlow.js is on '${tf.getBackend()}' after selecting '${tfName}'`);
  }
  if (tfName === 'cpu') {
    // The cpu backend prints a "Hi, ... install our node backend" banner on first use; netac
    // picks its backend itself and logs the choice, so the banner is only noise.
    const instance = tf.backend() as unknown as { firstUse?: boolean };
    if (instance.firstUse === true) instance.firstUse = false;
  }
}

function load(name: BackendName): Promise<void> {
  let pending = loads.get(name);
  if (pending === undefined) {
    pending = (async () => {
      if (name === 'tfjs-node') {
        // A computed specifier: typechecks although the package is not installed, and is never
        // resolved at build time.
        const moduleName: string = '@tensorflow/tfjs-node';
        try {
          await import(moduleName);
        } catch (error) {
          const code = (error as { code?: unknown } | null)?.code;
          if (code === 'ERR_MODULE_NOT_FOUND' && firstLine(error).includes(moduleName)) {
            throw new Error(
              `${moduleName} is not installed (an optional dependency: its install downloads libtensorflow)`,
            );
          }
          throw error; // e.g. installed without its native addon (tfjs_binding.node)
        }
        if (tf.findBackendFactory(TF_NAME[name]) == null) {
          throw new Error(
            "it loaded but registered no 'tensorflow' backend with this @tensorflow/tfjs (two tfjs-core copies?)",
          );
        }
      } else if (name === 'wasm') {
        await import('@tensorflow/tfjs-backend-wasm');
      }
    })();
    loads.set(name, pending);
  }
  return pending;
}

async function tryBackend(name: BackendName): Promise<void> {
  try {
    await load(name);
    await activate(TF_NAME[name]);
  } catch (error) {
    throw new Error(`backend '${name}' is not available: ${firstLine(error)}`);
  }
}

async function choose(preferred: BackendPreference): Promise<BackendSelection> {
  if (preferred !== 'auto') {
    await tryBackend(preferred);
    return { name: preferred, tfBackend: tf.getBackend() };
  }
  const reasons: string[] = [];
  for (const name of ['tfjs-node', 'wasm', 'cpu'] as const) {
    try {
      await tryBackend(name);
      const selection: BackendSelection = { name, tfBackend: tf.getBackend() };
      return reasons.length > 0 ? { ...selection, fallbackReason: reasons.join('; ') } : selection;
    } catch (error) {
      reasons.push(firstLine(error));
    }
  }
  throw new Error(`no TensorFlow.js backend could be loaded: ${reasons.join('; ')}`);
}

/**
 * Load and activate a TensorFlow.js backend; returns what ran. 'auto' (the default) tries
 * tfjs-node, then wasm, then cpu, and says in `fallbackReason` why it skipped any. An explicit
 * backend that cannot load rejects with a one-line error naming it and the reason.
 *
 * Idempotent: a second call with the same preference returns the same result object (and makes
 * that backend current again if another call switched away from it). Backends are global to
 * TensorFlow.js: the last call wins for every model in the process.
 */
export function selectBackend(preferred: BackendPreference = 'auto'): Promise<BackendSelection> {
  const known = ['tfjs-node', 'wasm', 'cpu', 'auto'];
  if (!known.includes(preferred)) {
    return Promise.reject(new Error(`unknown backend '${String(preferred)}' (expected one of ${known.join(', ')})`));
  }
  const cached = results.get(preferred);
  if (cached !== undefined) {
    return cached.then(async (selection) => {
      await activate(selection.tfBackend);
      return selection;
    });
  }
  const result = choose(preferred);
  results.set(preferred, result);
  // A failed explicit request stays failed (its import is not retried), but 'auto' may be retried.
  result.catch(() => {
    if (preferred === 'auto') results.delete(preferred);
  });
  return result;
}

/** The TensorFlow.js backend currently in use (for logs). */
export function currentBackend(): string {
  return tf.getBackend();
}
