/** What the tabs share: the network trained last (the draw tab predicts with it). */
import type { TwoLayerNet } from '@backprop/core';

export const shared: { net: TwoLayerNet | null; backendName: string } = {
  net: null,
  backendName: '',
};
