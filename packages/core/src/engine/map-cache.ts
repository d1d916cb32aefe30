/**
 * The gather maps the composed window kernels (im2col, col2im, pooling, permute) gather
 * by, made once for each shape and kept: a network repeats a few shapes every step, and
 * a map is three tensors on the device. Least recently used first; past `limit` the
 * oldest is freed.
 */
import type { GatherMap } from './gather-map.js';

export class MapCache {
  private readonly maps = new Map<string, GatherMap>();

  constructor(
    private readonly limit: number,
    /** Frees a map's storage (its tensors are no one's handles, so not disposed). */
    private readonly free: (map: GatherMap) => void,
  ) {}

  /** The map for `key`, made by `make` the first time it is asked for. */
  get(key: string, make: () => GatherMap): GatherMap {
    const found = this.maps.get(key);
    if (found) {
      this.maps.delete(key); // most recently used: to the end
      this.maps.set(key, found);
      return found;
    }
    const map = make();
    this.maps.set(key, map);
    if (this.maps.size > this.limit) {
      const [oldest, evicted] = this.maps.entries().next().value as [string, GatherMap];
      this.maps.delete(oldest);
      this.free(evicted);
    }
    return map;
  }
}
