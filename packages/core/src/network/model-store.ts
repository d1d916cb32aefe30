/**
 * Saving and loading a network by URL, as TensorFlow.js's `model.save(url)` and
 * `loadLayersModel(url)`:
 *
 *   file://dir             Node: dir/model.json and dir/model.weights.bin
 *   indexeddb://name       browsers: one record in the database "backprop-models"
 *   localstorage://name    browsers: the header and the weights (base64) under two keys
 *   downloads://name       browsers, saving only: name.json and name.weights.bin downloaded
 *   https://…/model.json   loading only: the header, then the weights file it names beside it
 *
 * Every place holds the compact model (`modelToBinary`): a JSON header and the values as
 * bytes; `loadModel` also reads a whole model.json (`modelToJSON`) where one was saved.
 */
import type { Backend } from '../engine/backend.js';
import { DataError, UsageError } from '../engine/errors.js';
import {
  isModelHeader,
  modelFromBinary,
  modelFromJSON,
  modelToBinary,
  modelToJSON,
} from './model-file.js';
import type { Network } from './network.js';

/** What `saveModel` wrote, and where. */
export interface SavedModelInfo {
  url: string;
  /** The header's bytes and the weights' bytes. */
  headerBytes: number;
  weightBytes: number;
}

// The little of the browser's storage used here: core compiles without the DOM's types.
interface IdbRequest<T = unknown> {
  result: T;
  error: { message: string } | null;
  onsuccess: (() => void) | null;
  onerror: (() => void) | null;
}
interface IdbStore {
  put(value: unknown, key: string): IdbRequest;
  get(key: string): IdbRequest;
}
interface IdbTransaction {
  objectStore(name: string): IdbStore;
  error: { message: string } | null;
  oncomplete: (() => void) | null;
  onerror: (() => void) | null;
}
interface IdbDatabase {
  createObjectStore(name: string): unknown;
  transaction(store: string, mode: 'readonly' | 'readwrite'): IdbTransaction;
  close(): void;
}
interface IdbOpenRequest extends IdbRequest<IdbDatabase> {
  onupgradeneeded: (() => void) | null;
}
interface BrowserGlobals {
  indexedDB: { open(name: string, version: number): IdbOpenRequest };
  localStorage: {
    getItem(key: string): string | null;
    setItem(key: string, value: string): void;
    removeItem(key: string): void;
  };
  document: { createElement(tag: 'a'): { href: string; download: string; click(): void } };
}

const SCHEMES = ['file://', 'indexeddb://', 'localstorage://', 'downloads://'];
const DATABASE = 'backprop-models';
const STORE = 'models';
const HEADER_FILE = 'model.json';
const WEIGHTS_FILE = 'model.weights.bin';

/**
 * Saves `net` (its parameters and BatchNorm's running statistics) at `url`; `trainedWith`
 * is kept in the header as the command line keeps its settings.
 */
export async function saveModel(
  net: Network,
  url: string,
  trainedWith?: Record<string, unknown>,
): Promise<SavedModelInfo> {
  const { scheme, path } = parseUrl('saveModel', url, SCHEMES);
  const { header, weights } = modelToBinary(await modelToJSON(net, trainedWith), WEIGHTS_FILE);
  const text = JSON.stringify(header);
  const info = {
    url,
    headerBytes: new TextEncoder().encode(text).length,
    weightBytes: weights.length,
  };
  if (scheme === 'file://') {
    const { mkdir, writeFile } = await nodeFs();
    await mkdir(path, { recursive: true });
    await writeFile(`${path}/${WEIGHTS_FILE}`, weights);
    await writeFile(`${path}/${HEADER_FILE}`, `${text}\n`);
  } else if (scheme === 'indexeddb://') {
    await withStore(url, 'readwrite', (store) => store.put({ header: text, weights }, path));
  } else if (scheme === 'localstorage://') {
    const storage = browserGlobal('localStorage', url);
    try {
      storage.setItem(`${DATABASE}/${path}/header`, text);
      storage.setItem(`${DATABASE}/${path}/weights`, toBase64(weights));
    } catch (error) {
      storage.removeItem(`${DATABASE}/${path}/header`);
      throw new DataError(
        url,
        `localStorage refused ${info.weightBytes} bytes of weights (${(error as Error).name}: it holds a few MB a site); save to indexeddb://${path} instead`,
      );
    }
  } else {
    download(`${path}.json`, new Blob([text.replace(WEIGHTS_FILE, `${path}.weights.bin`)]), url);
    download(`${path}.weights.bin`, new Blob([weights]), url);
  }
  return info;
}

/** A saved model as read from where it was saved, before any backend: see `readModel`. */
export interface StoredModel {
  /** Where it was read: the file's path for file://, else the URL. */
  from: string;
  /** The header (compact form) or the whole model file. */
  json: unknown;
  /** The compact form's values. */
  weights?: Uint8Array;
}

/** The network saved at `url` (any of `saveModel`'s places but downloads, or an http(s) URL of a model.json), on `backend`. */
export async function loadModel(backend: Backend, url: string): Promise<Network> {
  return buildModel(backend, await readModel(url));
}

/** Builds what `readModel` read on `backend`; any fault in its contents names where it was. */
export function buildModel(backend: Backend, { from, json, weights }: StoredModel): Network {
  return isModelHeader(json) && weights
    ? modelFromBinary(backend, json, weights, from)
    : modelFromJSON(backend, json, from);
}

/**
 * Reads a saved model without building it: a missing or broken one is the cheap mistake,
 * so a command reads it before its data and its backend.
 */
export async function readModel(url: string): Promise<StoredModel> {
  const { scheme, path } = parseUrl('loadModel', url, [
    'file://',
    'indexeddb://',
    'localstorage://',
    'http://',
    'https://',
  ]);
  let from = url;
  let text: string;
  let weights: () => Promise<Uint8Array>;
  if (scheme === 'file://') {
    const { readFile } = await nodeFs();
    const file = /\.json$/.test(path) ? path : `${path}/${HEADER_FILE}`;
    const read = (at: string, what: (code?: string) => string) =>
      readFile(at).catch((error: NodeJS.ErrnoException) => {
        throw new DataError(at, what(error.code));
      });
    from = file;
    text = new TextDecoder().decode(
      await read(file, (code) =>
        code === 'ENOENT'
          ? 'file not found'
          : code === 'EISDIR'
            ? 'is a folder, not a model file'
            : `cannot be read (${code})`,
      ),
    );
    const dir = file.slice(0, file.lastIndexOf('/') + 1);
    weights = async () =>
      new Uint8Array(
        await read(`${dir}${weightsFileOf(text, file)}`, (code) =>
          code === 'ENOENT'
            ? `file not found (${file} keeps its weights there)`
            : `cannot be read (${code})`,
        ),
      );
  } else if (scheme === 'indexeddb://') {
    const record = await withStore(url, 'readonly', (store) => store.get(path));
    if (!record) throw new DataError(url, 'no model saved under this name in IndexedDB');
    const saved = record as { header: string; weights: Uint8Array };
    text = saved.header;
    weights = async () => saved.weights;
  } else if (scheme === 'localstorage://') {
    const storage = browserGlobal('localStorage', url);
    const header = storage.getItem(`${DATABASE}/${path}/header`);
    const encoded = storage.getItem(`${DATABASE}/${path}/weights`);
    if (header === null || encoded === null)
      throw new DataError(url, 'no model saved under this name in localStorage');
    text = header;
    weights = async () => fromBase64(encoded);
  } else {
    const response = await fetch(url);
    if (!response.ok) throw new DataError(url, `HTTP ${response.status} ${response.statusText}`);
    text = await response.text();
    weights = async () => {
      const at = new URL(weightsFileOf(text, url), url);
      const bytes = await fetch(at);
      if (!bytes.ok) throw new DataError(at.href, `HTTP ${bytes.status} ${bytes.statusText}`);
      return new Uint8Array(await bytes.arrayBuffer());
    };
  }
  const json = parseJson(text, from);
  return isModelHeader(json) ? { from, json, weights: await weights() } : { from, json };
}

function parseUrl(where: string, url: string, schemes: string[]): { scheme: string; path: string } {
  const scheme = typeof url === 'string' ? schemes.find((s) => url.startsWith(s)) : undefined;
  // the rest as written (TensorFlow.js's file:// does the same): file://./model, file:///abs
  const path = scheme ? url.slice(scheme.length) : '';
  if (!scheme || path === '' || path === '/') {
    throw new UsageError(
      `${where}: ${JSON.stringify(url)} is not a place it knows; give ${schemes.map((s) => `${s}…`).join(', ')}`,
    );
  }
  return { scheme, path: scheme.startsWith('http') ? url : path };
}

function parseJson(text: string, url: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new DataError(url, `is not valid JSON (${(error as Error).message})`);
  }
}

/** The weights file a header names (relative to it): never a path elsewhere. */
function weightsFileOf(text: string, url: string): string {
  const json = parseJson(text, url) as { weights?: { file?: unknown } };
  const name = json.weights?.file;
  if (typeof name !== 'string' || name === '' || name.includes('/') || name.includes('\\'))
    throw new DataError(
      url,
      `weights.file must name a file beside it, got ${JSON.stringify(name)}`,
    );
  return name;
}

/** Node's fs, imported where a file:// URL asks for it (a browser bundle never loads it). */
async function nodeFs(): Promise<typeof import('node:fs/promises')> {
  const specifier = 'node:fs/promises';
  return import(/* @vite-ignore */ specifier);
}

function browserGlobal<K extends keyof BrowserGlobals>(name: K, url: string): BrowserGlobals[K] {
  const value = (globalThis as Partial<BrowserGlobals>)[name];
  if (!value) throw new UsageError(`${url}: ${name} is a browser's; in Node use file://…`);
  return value;
}

/** Runs one request on the models store, opening (and creating) the database. */
function withStore(
  url: string,
  mode: 'readonly' | 'readwrite',
  request: (store: IdbStore) => IdbRequest,
): Promise<unknown> {
  const indexedDB = browserGlobal('indexedDB', url);
  return new Promise((resolve, reject) => {
    const failed = (what: string, error: { message: string } | null) =>
      reject(new DataError(url, `IndexedDB ${what}: ${error?.message ?? 'no reason given'}`));
    const open = indexedDB.open(DATABASE, 1);
    open.onupgradeneeded = () => open.result.createObjectStore(STORE);
    open.onerror = () => failed('did not open', open.error);
    open.onsuccess = () => {
      const db = open.result;
      const transaction = db.transaction(STORE, mode);
      const done = request(transaction.objectStore(STORE));
      transaction.oncomplete = () => {
        db.close();
        resolve(done.result);
      };
      transaction.onerror = () => {
        db.close();
        failed(mode === 'readonly' ? 'could not read' : 'could not write', transaction.error);
      };
    };
  });
}

function download(name: string, blob: Blob, url: string): void {
  const link = browserGlobal('document', url).createElement('a');
  link.href = URL.createObjectURL(blob);
  link.download = name;
  link.click();
  setTimeout(() => URL.revokeObjectURL(link.href), 0);
}

function toBase64(bytes: Uint8Array): string {
  let text = '';
  for (let i = 0; i < bytes.length; i += 0x8000)
    text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(text);
}

function fromBase64(text: string): Uint8Array {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}
